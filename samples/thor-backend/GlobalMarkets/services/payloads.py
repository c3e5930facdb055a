"""The WebSocket payloads, as dataclasses: what every socket receives, field for field."""
from dataclasses import dataclass


@dataclass
class BalancePayload:
    account_id: str
    cash: float
    portfolio_value: float
    buying_power: float
    timestamp: str
