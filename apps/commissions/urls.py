from .urls_rules import urlpatterns as rule_urlpatterns
from .urls_settlements import urlpatterns as settlement_urlpatterns
from .urls_statements import urlpatterns as statement_urlpatterns
from .urls_workbook import urlpatterns as workbook_urlpatterns

app_name = "commissions"

# Each part of the commissions app keeps its own routes; all live in this namespace.
urlpatterns = [*rule_urlpatterns, *settlement_urlpatterns, *statement_urlpatterns,
               *workbook_urlpatterns]
