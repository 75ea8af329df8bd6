from .urls_benefits import urlpatterns as benefit_urlpatterns
from .urls_cards import urlpatterns as card_urlpatterns
from .urls_schemes import urlpatterns as scheme_urlpatterns

app_name = "vip"

# Each part of the VIP app keeps its own routes; all live in this namespace.
urlpatterns = [*scheme_urlpatterns, *card_urlpatterns, *benefit_urlpatterns]
