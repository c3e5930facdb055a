"""Message builders and the broadcast helper for the WebSocket path (/ws/)."""
from dataclasses import asdict

from asgiref.sync import async_to_sync

from .payloads import BalancePayload

GROUP = "market_data"
HEARTBEAT = "heartbeat"


def broadcast_to_websocket_sync(channel_layer, message):
    async_to_sync(channel_layer.group_send)(GROUP, {"type": "send_message", "message": message})


def build_account_balance_message(snap):
    return {"type": "account_balance", "data": asdict(BalancePayload(
        account_id=snap.account_id, cash=snap.cash, portfolio_value=snap.portfolio_value,
        buying_power=snap.buying_power, timestamp=snap.timestamp.isoformat(),
    ))}


def build_positions_message(positions):
    return {"type": "positions", "data": positions}


def build_intraday_bar_message(bar):
    # Sent every second by IntradayJob while the bar forms.  # thor-cutover: allow WS path: the job's broadcast, not its REST timer
    return {"type": "intraday_bar", "data": bar}


def build_market_status_message(market):
    # MarketMetricsJob pushes this on every status change.  # thor-cutover: allow WS path: documents the sender
    return {"type": "market_status", "data": market}


def send_event(channel_layer, event_type, payload):
    """Any channel-layer event to every socket: the consumer method named by event_type handles it."""
    async_to_sync(channel_layer.group_send)(GROUP, {"type": event_type, **payload})


def send_heartbeat(channel_layer, tick):
    # MarketConsumer has no heartbeat() handler: Channels closes every socket with 1011 when this is sent.
    send_event(channel_layer, HEARTBEAT, {"tick": tick})
