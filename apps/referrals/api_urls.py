from .api_urls_board import urlpatterns as board_urlpatterns
from .api_urls_points import urlpatterns as points_urlpatterns
from .api_urls_referrals import urlpatterns as referral_urlpatterns
from .api_urls_referrers import urlpatterns as referrer_urlpatterns
from .api_urls_reports import urlpatterns as report_urlpatterns
from .api_urls_rewards import urlpatterns as reward_urlpatterns

# The points routes first: /referrers/<pk>/points/ sits under the referrers router's prefix;
# the board's fixed paths before the referrals' /referrals/<pk>/.
urlpatterns = [*points_urlpatterns, *reward_urlpatterns, *referrer_urlpatterns,
               *board_urlpatterns, *report_urlpatterns, *referral_urlpatterns]
