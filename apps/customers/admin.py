"""Customers in the tenant admin: browse, export, and import through the services.

Customers are not edited with the admin's change form (that would bypass the services'
validation and audit); they are changed on the app's pages, the API, or by an import whose
rows go through `customer_create` / `customer_update`. An import is all or nothing."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import MultipleObjectsReturned, ObjectDoesNotExist, ValidationError
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets
from import_export.admin import ImportExportModelAdmin
from import_export.formats import base_formats
from import_export.forms import ImportForm

from apps.imports.importer import FileRefused, check_file
from apps.tenancy.admin import ReadOnlyTenantModelAdmin, _is_tenant_admin
from apps.tenancy.models import Staff, Team

from . import services
from .models import Customer, CustomerRelation

#: Columns of the export and of the import (an import may leave any out except name/phone).
COLUMNS = ("id", "name", "phone", "id_number", "gender", "birthday", "address", "source", "grade",
           "tags", "notes", "owner", "team")


class ScopedByNameWidget(widgets.ForeignKeyWidget):
    """A staff member or team of the tenant in context, by name; a clear error otherwise."""

    def clean(self, value, row=None, **kwargs):
        value = (value or "").strip() if isinstance(value, str) else value
        if value in (None, ""):
            return None
        try:
            return self.model.objects.get(**{self.field: value})
        except ObjectDoesNotExist:
            raise ValueError(_("Unknown %(kind)s: %(value)s") % {
                "kind": self.model._meta.verbose_name, "value": value})
        except MultipleObjectsReturned:
            raise ValueError(_("Several %(kind)s are called %(value)s; rename one first.") % {
                "kind": self.model._meta.verbose_name_plural, "value": value})


class TagsWidget(widgets.SimpleArrayWidget):
    def clean(self, value, row=None, **kwargs):
        return services.clean_tags(str(value) if value else "")


class CustomerResource(resources.ModelResource):
    owner = fields.Field(attribute="owner", column_name="owner",
                         widget=ScopedByNameWidget(Staff, "name"))
    team = fields.Field(attribute="team", column_name="team", widget=ScopedByNameWidget(Team, "name"))
    tags = fields.Field(attribute="tags", column_name="tags", widget=TagsWidget(separator=","))

    class Meta:
        model = Customer
        fields = COLUMNS
        export_order = COLUMNS
        import_id_fields = ("id",)
        clean_model_instances = False  # the services validate (and normalise phone/ID first)
        use_transactions = True
        skip_unchanged = False
        report_skipped = True

    def __init__(self, *, staff: Staff | None = None, **kwargs):
        super().__init__(**kwargs)
        self.staff = staff

    def get_queryset(self):
        return Customer.objects.all()

    def before_import(self, dataset, **kwargs):
        # A file of new customers needs no id column.
        if dataset.headers is not None and "id" not in dataset.headers:
            if len(dataset):
                dataset.append_col([""] * len(dataset), header="id")
            else:
                dataset.headers = [*dataset.headers, "id"]
        super().before_import(dataset, **kwargs)

    def after_init_instance(self, instance, new, row, **kwargs):
        if new and str(row.get("id") or "").strip():
            # Never create a customer under an id of the file: ids belong to the database.
            raise ValidationError({"id": _("Unknown customer id: %(id)s") % {"id": row["id"]}})

    def save_instance(self, instance, is_create, row, **kwargs):
        """Create or update through the services, so validation and audit apply."""
        present = [f for f in COLUMNS if f != "id" and f in row]
        data = {f: getattr(instance, f) for f in present}
        for key in ("id_number", "gender", "address", "grade", "notes"):
            if key in data and data[key] is None:
                data[key] = ""
        staff = self.staff
        tenant = staff.tenant
        if is_create:
            saved = services.customer_create(tenant=tenant, actor=staff, **data)
        else:
            saved = services.customer_update(tenant=tenant, actor=staff, customer=instance, **data)
        instance.__dict__.update({k: v for k, v in saved.__dict__.items() if k != "_state"})
        instance._state.adding = False

    def after_import(self, dataset, result, **kwargs):
        # The default resets the id sequence from MAX(id), which under row-level security is
        # this tenant's maximum only: never do that. Ids are never imported, so nothing to do.
        return None


class CustomerAdminImportForm(ImportForm):
    """The admin's upload: the size and content checks of the import page (apps.imports)."""

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        head = upload.read(8)
        upload.seek(0)
        try:
            check_file(upload.size, upload.name, head)
        except FileRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return upload


@admin.register(Customer)
class CustomerAdmin(ImportExportModelAdmin, ReadOnlyTenantModelAdmin):
    resource_classes = [CustomerResource]
    import_formats = [base_formats.CSV, base_formats.XLSX]
    import_form_class = CustomerAdminImportForm
    list_display = ("name", "phone", "source", "grade", "owner", "team", "created_at")
    list_filter = ("source", "grade")
    search_fields = ("name", "phone")
    list_select_related = ("owner", "team")
    readonly_fields = ("created_by", "created_at", "updated_at")

    def has_import_permission(self, request):
        return _is_tenant_admin(request)

    def has_export_permission(self, request):
        return _is_tenant_admin(request)

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "staff": request.staff}

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        # One invalid row and nothing of the file is kept.
        kwargs["rollback_on_validation_errors"] = True
        return kwargs


@admin.register(CustomerRelation)
class CustomerRelationAdmin(ReadOnlyTenantModelAdmin):
    list_display = ("customer", "kind", "related", "created_at")
    list_select_related = ("customer", "related")
