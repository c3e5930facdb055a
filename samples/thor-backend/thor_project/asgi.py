import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application
from django.urls import path

from GlobalMarkets.consumers import MarketConsumer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thor_project.settings")

application = ProtocolTypeRouter({
    "http": get_asgi_application(),
    "websocket": URLRouter([path("ws/", MarketConsumer.as_asgi())]),
})
