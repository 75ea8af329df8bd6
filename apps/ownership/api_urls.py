from .api_urls_pool import urlpatterns as pool_urlpatterns
from .api_urls_registration import urlpatterns as registration_urlpatterns

urlpatterns = [*registration_urlpatterns, *pool_urlpatterns]
