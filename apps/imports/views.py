"""Customer import pages (thin: apps.imports.importer does the work).

* /imports/customers/ — upload a file and choose what happens to customers already registered.
* /imports/customers/<uuid>/ — preview (GET: the column mapping, the counts, the first rows
  with errors; nothing written) and confirm (POST: the import, all or nothing).
* /imports/customers/<uuid>/result/ — the counts; /report/ the .xlsx report of every row.

Between the steps the uploaded file lives at MEDIA_ROOT/imports/<tenant id>/<uuid>.<ext>, and
the user's session maps the uuid to it (with the duplicates choice and, after the commit, the
result). An uuid that is not in the user's own session is a 404: nobody else's import is
reachable. For a file over IMPORT_DIRECT_MAX_BYTES both the preview and the import run as
Celery tasks (apps.imports.tasks); the preview and result pages show their progress until they
are done. Files are deleted after IMPORT_KEEP_DAYS (tasks.cleanup_uploads): a session entry
whose file is gone shows "this import has expired" (410).
Who may import: the roles that may register customers."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from apps.core.outbox import enqueue_on_commit
from apps.core.xlsx import xlsx_download
from apps.customers.selectors import WRITE_ROLES
from apps.tenancy.views_base import StaffRequiredMixin

from . import importer, tasks
from .forms import CustomerImportForm
from .report import ReportWriter

SESSION_KEY = "customer_imports"
PREVIEW_ERRORS = 50
#: Files over this many bytes are imported by a Celery task (apps.imports.tasks).
DIRECT_MAX_BYTES = 2 * 1024 * 1024


def _directory(tenant) -> Path:
    return Path(settings.MEDIA_ROOT) / "imports" / str(tenant.pk)


class ImportMixin(StaffRequiredMixin):
    required_roles = WRITE_ROLES

    def entry(self, key) -> dict:
        entry = self.request.session.get(SESSION_KEY, {}).get(str(key))
        if entry is None or entry.get("staff") != self.staff.pk:
            raise Http404
        return entry

    def save_entry(self, key, entry) -> None:
        store = self.request.session.get(SESSION_KEY, {})
        store[str(key)] = entry
        self.request.session[SESSION_KEY] = store

    def path(self, key, entry) -> Path:
        return _directory(self.tenant) / f"{key}.{entry['kind']}"

    def expired(self, entry):
        return render(self.request, "imports/expired.html",
                      {"entry": entry, "keep_days": tasks.keep_days()}, status=410)

    def large(self, path: Path) -> bool:
        return path.stat().st_size > getattr(settings, "IMPORT_DIRECT_MAX_BYTES",
                                             DIRECT_MAX_BYTES)

    def start(self, task, key, entry) -> None:
        enqueue_on_commit(task.name, self.tenant.pk, self.staff.pk, str(key),
                          str(self.path(key, entry)), entry["name"], entry["duplicates"])


def _refresh():
    """The answer to a progress poll once the step is done: reload the page."""
    response = HttpResponse(status=204)
    response["HX-Refresh"] = "true"
    return response


class UploadView(ImportMixin, View):
    def get(self, request):
        return render(request, "imports/upload.html", {"form": CustomerImportForm()})

    def post(self, request):
        form = CustomerImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                head = upload.read(8) if upload.size else b""
                kind = importer.check_file(upload.size, upload.name, head)
            except importer.FileRefused as refused:
                form.add_error("file", refused.message)
            else:
                key = uuid.uuid4()
                directory = _directory(self.tenant)
                directory.mkdir(parents=True, exist_ok=True)
                entry = {"staff": self.staff.pk, "name": upload.name, "kind": kind,
                         "duplicates": form.cleaned_data["duplicates"]}
                upload.seek(0)
                with open(self.path(key, entry), "wb") as handle:
                    for part in upload.chunks():
                        handle.write(part)
                self.save_entry(key, entry)
                return redirect("imports:customer_preview", key=key)
        return render(request, "imports/upload.html", {"form": form}, status=400)


class PreviewView(ImportMixin, View):
    def _run(self, key, entry, *, commit, report=None):
        data = self.path(key, entry).read_bytes()
        table = importer.read(data, entry["name"])
        return importer.run(tenant=self.tenant, actor=self.staff, table=table,
                            duplicates=entry["duplicates"], commit=commit, report=report)

    def get(self, request, key):
        entry = self.entry(key)
        if entry.get("result") or entry.get("task"):
            return redirect("imports:customer_result", key=key)
        path = self.path(key, entry)
        if not path.exists():
            return self.expired(entry)
        if self.large(path):  # the preview runs as a task; this page shows its progress
            done = tasks.result_path(path, tasks.PREVIEW)
            if not done.exists():
                if not entry.get("preview_task"):
                    entry["preview_task"] = True
                    self.save_entry(key, entry)
                    self.start(tasks.preview_customers_task, key, entry)
                progress = cache.get(tasks.progress_key(self.tenant.pk, str(key),
                                                        tasks.PREVIEW)) or {}
                return render(request, "imports/progress.html", {
                    "entry": entry, "key": key, "progress": progress, "phase": tasks.PREVIEW,
                    "failed": progress.get("state") == tasks.FAILED})
            if request.headers.get("HX-Request"):
                return _refresh()
            summary = json.loads(done.read_text())
        else:
            try:
                summary = self._run(key, entry, commit=False).as_dict()
            except importer.FileRefused as refused:
                summary = {"refused": refused.message}
        if summary.get("refused"):
            messages.error(request, summary["refused"])
            return redirect("imports:customer_upload")
        return render(request, "imports/preview.html", {
            "entry": entry, "key": key, "summary": summary,
            "errors": summary["errors"][:PREVIEW_ERRORS]})

    def post(self, request, key):
        entry = self.entry(key)
        if entry.get("result") or entry.get("task"):
            return redirect("imports:customer_result", key=key)
        path = self.path(key, entry)
        if not path.exists():
            return self.expired(entry)
        if self.large(path):
            entry["task"] = True
            self.save_entry(key, entry)
            self.start(tasks.import_customers_task, key, entry)
            return redirect("imports:customer_result", key=key)
        report = ReportWriter()
        try:
            try:
                summary = self._run(key, entry, commit=True, report=report)
            except importer.ImportFailed as failed:
                summary = failed.summary
        except importer.FileRefused as refused:
            messages.error(request, refused.message)
            return redirect("imports:customer_upload")
        with open(self.path(key, entry).with_suffix(".report.xlsx"), "wb") as handle:
            report.save(handle)
        entry["result"] = summary.as_dict()
        self.save_entry(key, entry)
        return redirect("imports:customer_result", key=key)


class ResultView(ImportMixin, View):
    def get(self, request, key):
        entry = self.entry(key)
        if not entry.get("result") and entry.get("task"):
            path = self.path(key, entry)
            done = tasks.result_path(path)
            if not done.exists():
                if not path.exists():
                    return self.expired(entry)
                progress = cache.get(tasks.progress_key(self.tenant.pk, str(key))) or {}
                return render(request, "imports/progress.html", {
                    "entry": entry, "key": key, "progress": progress, "phase": tasks.IMPORT,
                    "failed": progress.get("state") == tasks.FAILED})
            entry["result"] = json.loads(done.read_text())
            self.save_entry(key, entry)
            if request.headers.get("HX-Request"):  # the progress poll: reload as the result
                return _refresh()
        if not entry.get("result"):
            return redirect("imports:customer_preview", key=key)
        return render(request, "imports/result.html", {"entry": entry, "key": key,
                                                       "result": entry["result"]})


class ReportView(ImportMixin, View):
    def get(self, request, key):
        entry = self.entry(key)
        path = self.path(key, entry).with_suffix(".report.xlsx")
        if not entry.get("result"):
            raise Http404
        if not path.exists():
            return self.expired(entry)

        def write(handle):
            with open(path, "rb") as source:
                handle.write(source.read())

        return xlsx_download(write, _("Import report") + ".xlsx", "import-report.xlsx")
