"""The running program: settings, start-up, channels, clock, delivery."""
