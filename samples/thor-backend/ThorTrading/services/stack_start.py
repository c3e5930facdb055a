"""Start the job stack: every REST timer is registered here."""
from channels.layers import get_channel_layer

from GlobalMarkets.jobs import MarketMetricsJob
from GlobalMarkets.services.heartbeat import JobRegistry
from ThorTrading.jobs import AccountBalanceJob, IntradayJob, PositionsJob

# Get channel layer once at startup
channel_layer = get_channel_layer()
registry = JobRegistry()

intraday_job = IntradayJob(channel_layer=channel_layer)


def start_stack():
    registry.register(AccountBalanceJob(channel_layer=channel_layer), interval=10)
    registry.register(PositionsJob(channel_layer=channel_layer), interval=10)
    registry.register(
        intraday_job,
        interval=1,
        per_symbol=True,
    )
    registry.register(MarketMetricsJob(channel_layer=channel_layer), interval=10)
    registry.start()
