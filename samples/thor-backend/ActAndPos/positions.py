"""The positions model (named like the feature: importing it is not a REST view)."""
from django.db import models


class Position(models.Model):
    account_id = models.CharField(max_length=32)
    symbol = models.CharField(max_length=16)
    quantity = models.DecimalField(max_digits=18, decimal_places=4)

    def as_dict(self):
        return {"symbol": self.symbol, "quantity": str(self.quantity)}
