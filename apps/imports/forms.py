from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import BootstrapFormMixin

from .importer import SKIP, UPDATE


class CustomerImportForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(label=_("File"),
                           help_text=_(".xlsx or .csv (UTF-8 or GBK), first row the headers"))
    duplicates = forms.ChoiceField(
        label=_("Customers already registered"), initial=SKIP,
        choices=[(SKIP, _("Skip them")), (UPDATE, _("Update them with the file's values"))],
        widget=forms.RadioSelect)
