from .api_urls_rules import urlpatterns as rule_urlpatterns
from .api_urls_settlements import urlpatterns as settlement_urlpatterns
from .api_urls_statements import urlpatterns as statement_urlpatterns
from .api_urls_workbook import urlpatterns as workbook_urlpatterns

urlpatterns = [*rule_urlpatterns, *settlement_urlpatterns, *statement_urlpatterns,
               *workbook_urlpatterns]
