from .urls_board import urlpatterns as board_urlpatterns
from .urls_points import urlpatterns as points_urlpatterns
from .urls_referrals import urlpatterns as referral_urlpatterns
from .urls_referrers import urlpatterns as referrer_urlpatterns
from .urls_reports import urlpatterns as report_urlpatterns
from .urls_rewards import urlpatterns as reward_urlpatterns

app_name = "referrals"

# Each part of the referrals app keeps its own routes; all live in this namespace.
urlpatterns = [*referrer_urlpatterns, *points_urlpatterns, *reward_urlpatterns,
               *board_urlpatterns, *report_urlpatterns, *referral_urlpatterns]
