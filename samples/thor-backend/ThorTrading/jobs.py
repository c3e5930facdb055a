"""REST timer jobs: each fills the table a REST view serves."""
from GlobalMarkets.services.heartbeat import BaseJob
from GlobalMarkets.services.websocket_broadcast import (
    broadcast_to_websocket_sync,
    build_account_balance_message,
    build_intraday_bar_message,
    build_positions_message,
)
from GlobalMarkets.services.websocket_features import WebSocketFeatureFlags


class AccountBalanceJob(BaseJob):
    name = "account_balance"

    def execute(self):
        balance = self.fetch_and_store_balance()
        if WebSocketFeatureFlags().is_account_balance_enabled():
            broadcast_to_websocket_sync(self.channel_layer, build_account_balance_message(balance))


class PositionsJob(BaseJob):
    name = "positions"

    def execute(self):
        positions = self.fetch_and_store_positions()
        if WebSocketFeatureFlags().is_positions_enabled():
            broadcast_to_websocket_sync(self.channel_layer, build_positions_message(positions))


class IntradayJob(BaseJob):
    name = "intraday"

    def execute(self):
        bars = self.fetch_and_store_intraday_bars()
        if WebSocketFeatureFlags().is_intraday_enabled():
            for bar in bars:
                broadcast_to_websocket_sync(self.channel_layer, build_intraday_bar_message(bar))
