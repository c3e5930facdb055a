from rest_framework import serializers

from ThorTrading.models import AccountSnapshot


class AccountSnapshotSerializer(serializers.ModelSerializer):
    # The REST API has always spelled it portfolio_val; the WebSocket payload says portfolio_value.
    portfolio_val = serializers.DecimalField(source="portfolio_value", max_digits=18, decimal_places=2)

    class Meta:
        model = AccountSnapshot
        fields = ["account_id", "cash", "portfolio_val", "buying_power", "timestamp"]
