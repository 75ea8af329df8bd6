from .api_urls_points import urlpatterns as points_urlpatterns
from .api_urls_referrers import urlpatterns as referrer_urlpatterns
from .api_urls_rewards import urlpatterns as reward_urlpatterns

# The points routes first: /referrers/<pk>/points/ sits under the referrers router's prefix.
urlpatterns = [*points_urlpatterns, *reward_urlpatterns, *referrer_urlpatterns]
