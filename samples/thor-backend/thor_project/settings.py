INSTALLED_APPS = ["channels", "rest_framework", "ThorTrading", "ActAndPos", "GlobalMarkets"]
ROOT_URLCONF = "thor_project.urls"
ASGI_APPLICATION = "thor_project.asgi.application"
