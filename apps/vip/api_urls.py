from .api_urls_benefits import urlpatterns as benefit_urlpatterns
from .api_urls_cards import urlpatterns as card_urlpatterns
from .api_urls_schemes import urlpatterns as scheme_urlpatterns

urlpatterns = [*scheme_urlpatterns, *card_urlpatterns, *benefit_urlpatterns]
