"""The "new version" page of effective-dated JSON rules (credit rule sets, reward policies; the
page is templates/includes/version_form.html, which each app's template extends):
start from a preset (?preset=…) or the latest version, edit the JSON, save. Errors are shown
with what was typed. See apps.core.versioning for the service side."""

from __future__ import annotations

import datetime as dt
from abc import ABCMeta, abstractmethod
from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse

from apps.core.forms import add_service_errors


class VersionCreateMixin(metaclass=ABCMeta):
    """GET (a form filled from a preset or the latest version, on the first free day) and POST
    (the service call) of a "new version" page. Use with the app's tenant view mixin, which
    gives `tenant`, `staff` and `require_admin()`. A subclass sets the attributes and the hooks
    below; the overview is a dict with "today", "current", "scheduled", "history" and
    "fallback_preset" (the `…_overview(tenant)` selectors)."""

    form_class: type
    template_name: str
    detail_url: str                  # URL name of a version's page (kwarg pk)
    list_url: str                    # URL name of the versions list
    heading: Any                     # the page's title (lazy translation)
    presets: Mapping[str, Any]
    preset_names: Mapping[str, Any]

    @abstractmethod
    def overview(self) -> dict:
        """The `…_overview(tenant)` of the app's versions."""

    @abstractmethod
    def preset_json(self, preset: str) -> str:
        """A preset's rules as the JSON text of the form."""

    @abstractmethod
    def version_json(self, row) -> str:
        """A version's rules as the JSON text of the form."""

    @abstractmethod
    def create(self, **kwargs):
        """The service call (tenant, actor and the form's service_kwargs()); returns the row."""

    @abstractmethod
    def saved_message(self, row) -> str:
        """What the user is told once the version is saved."""

    def get(self, request):
        self.require_admin()
        overview = self.overview()
        day: dt.date = overview["today"]
        taken = {row.effective_from for row in overview["history"]}
        while day in taken:
            day += dt.timedelta(days=1)
        preset = request.GET.get("preset", "")
        if preset in self.presets:
            text, name = self.preset_json(preset), str(self.preset_names[preset])
        else:
            latest = overview["scheduled"][-1] if overview["scheduled"] else overview["current"]
            if latest is not None:
                text, name = self.version_json(latest), latest.name
                preset = getattr(latest, "preset", "")
            else:
                preset = overview["fallback_preset"]
                text, name = self.preset_json(preset), str(self.preset_names[preset])
        form = self.form_class(initial={"effective_from": day, "name": name, "preset": preset,
                                        "rules": text})
        return self.render_page(form)

    def post(self, request):
        self.require_admin()
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                row = self.create(tenant=self.tenant, actor=self.staff, **form.service_kwargs())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, self.saved_message(row))
                return redirect(self.detail_url, pk=row.pk)
        return self.render_page(form, status=400)

    def render_page(self, form, status=200):
        return render(self.request, self.template_name, {
            "form": form, "presets": list(self.preset_names.items()), "heading": self.heading,
            "list_url": reverse(self.list_url)}, status=status)
