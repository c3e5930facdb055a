import os

import redis

FLAGS_KEY = "{thor:cutover}:flags"


class WebSocketFeatureFlags:
    """The effective flag: the Redis hash field, else the WS_FEATURE_* env var, else off."""

    def __init__(self, client=None):
        self.client = client or redis.Redis()

    def _enabled(self, feature, env_var):
        value = self.client.hget(FLAGS_KEY, feature)
        if value is None:
            value = os.environ.get(env_var, "false")
        return str(value, "utf-8") if isinstance(value, bytes) else str(value)

    def is_account_balance_enabled(self):
        return self._enabled("account_balance", "WS_FEATURE_ACCOUNT_BALANCE").lower() == "true"

    def is_positions_enabled(self):
        return self._enabled("positions", "WS_FEATURE_POSITIONS").lower() == "true"

    def is_intraday_enabled(self):
        return self._enabled("intraday", "WS_FEATURE_INTRADAY").lower() == "true"

    def is_global_market_enabled(self):
        return self._enabled("global_market", "WS_FEATURE_GLOBAL_MARKET").lower() == "true"
