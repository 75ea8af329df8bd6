from .urls_plans import urlpatterns as plan_urlpatterns
from .urls_reports import urlpatterns as report_urlpatterns
from .urls_tasks import urlpatterns as task_urlpatterns

app_name = "followups"

# Each part of the follow-ups app keeps its own routes; all live in this namespace.
urlpatterns = [*plan_urlpatterns, *report_urlpatterns, *task_urlpatterns]
