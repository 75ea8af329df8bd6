from .urls_pool import urlpatterns as pool_urlpatterns
from .urls_registration import urlpatterns as registration_urlpatterns

app_name = "ownership"

# Registration (the duplicate check, registering, claiming) and the rest of ownership (pool,
# policy, reassignment, history) are built in separate modules; both live in this namespace.
urlpatterns = [*registration_urlpatterns, *pool_urlpatterns]
