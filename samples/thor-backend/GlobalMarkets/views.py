from rest_framework.decorators import api_view
from rest_framework.response import Response

from GlobalMarkets.models import Market


@api_view(["GET"])
def market_status(request):
    return Response([m.status_dict() for m in Market.objects.all()])
