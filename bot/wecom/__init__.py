"""WeCom / 企业微信: a self-built app's encrypted callback and active messages (wechatpy)."""

CHANNEL = "wecom"
