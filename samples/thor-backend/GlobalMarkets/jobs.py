from GlobalMarkets.services.heartbeat import BaseJob
from GlobalMarkets.services.websocket_broadcast import broadcast_to_websocket_sync, build_market_status_message


class MarketMetricsJob(BaseJob):
    name = "global_market"

    def execute(self):
        for market in self.refresh_market_status():
            broadcast_to_websocket_sync(self.channel_layer, build_market_status_message(market))
