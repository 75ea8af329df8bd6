from .api_urls_plans import urlpatterns as plan_urlpatterns
from .api_urls_reports import urlpatterns as report_urlpatterns
from .api_urls_tasks import urlpatterns as task_urlpatterns

urlpatterns = [*plan_urlpatterns, *report_urlpatterns, *task_urlpatterns]
