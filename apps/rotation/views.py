"""The rotation board (thin: selectors read, services write)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from apps.core.forms import add_service_errors
from apps.ownership.selectors import tenant_today
from apps.tenancy.models import Staff
from apps.tenancy.views_base import StaffRequiredMixin, TenantObjectMixin

from . import selectors, services
from .forms import WalkInForm
from .models import DutySignIn


def board_url(team) -> str:
    return f"{reverse('rotation:board')}?team={team.pk}"


class TeamMixin(StaffRequiredMixin):
    required_roles = selectors.BOARD_ROLES

    def get_team(self, team_id):
        try:
            return selectors.resolve_team(self.staff, team_id)
        except ValidationError:
            raise Http404

    def render_board(self, team, form=None, status=200):
        staff = self.staff
        today = tenant_today(self.tenant)
        board = selectors.board(staff, self.tenant, team, today)
        labels = dict(DutySignIn.Status.choices)
        for sign_in in board.sign_ins:
            allowed = (services.TRANSITIONS[sign_in.status]
                       if selectors.may_set_status(staff, sign_in) else ())
            sign_in.actions = [(value, labels[value]) for value in DutySignIn.Status.values
                               if value in allowed]
        can_manage = selectors.may_manage_team(staff, team)
        context = {
            "board": board, "teams": list(selectors.board_teams(staff)),
            "form": form if form is not None else WalkInForm(team=team),
            "can_record": selectors.may_record_walk_ins(staff, team),
            "can_manage": can_manage,
            "can_sign_in_self": (staff.team_id == team.pk and staff.pk not in board.signed_in_ids
                                 and any(m.pk == staff.pk for m in board.members)),
            "sign_in_members": board.members if can_manage else [],
        }
        return render(self.request, "rotation/board.html", context, status=status)


class BoardView(TeamMixin, View):
    def get(self, request):
        try:
            team = selectors.resolve_team(self.staff, request.GET.get("team"))
        except ValidationError as exc:
            if request.GET.get("team"):
                raise Http404
            return render(request, "rotation/no_team.html",
                          {"message": exc.message_dict["team"][0]})
        return self.render_board(team)


class WalkInView(TeamMixin, View):
    def post(self, request):
        team = self.get_team(request.POST.get("team"))
        form = WalkInForm(request.POST, team=team)
        if form.is_valid():
            data = form.cleaned_data
            try:
                brought_by = selectors.customer_by_phone(data["brought_by_phone"])
                result = services.walk_in_receive(
                    tenant=self.tenant, actor=self.staff, team=team, name=data["name"],
                    phone=data["phone"], named_staff=data["named_staff"], brought_by=brought_by,
                    id_number=data["id_number"], notes=data["notes"])
            except ValidationError as exc:
                add_service_errors(form, exc, WalkInForm.SERVICE_FIELDS)
            else:
                messages.success(request, _("%(customer)s: %(explanation)s") % {
                    "customer": selectors.shown_customer_name(self.staff, result.customer),
                    "explanation": result.route.explanation})
                return redirect(board_url(team))
        return self.render_board(team, form)


class SignInView(TeamMixin, View):
    def post(self, request):
        team = self.get_team(request.POST.get("team"))
        staff = None
        if request.POST.get("staff"):
            staff = Staff.objects.filter(pk=request.POST["staff"]).first() \
                if request.POST["staff"].isdigit() else None
            if staff is None:
                raise Http404
        try:
            sign_in = services.duty_sign_in(tenant=self.tenant, actor=self.staff, team=team,
                                            staff=staff)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("%(name)s signed in, number %(position)s in today's order.")
                             % {"name": sign_in.staff.name, "position": sign_in.position})
        return redirect(board_url(team))


class StatusView(TenantObjectMixin, View):
    model = DutySignIn

    def post(self, request, pk):
        sign_in = get_object_or_404(self.get_queryset().select_related("staff", "team"), pk=pk)
        try:
            sign_in = services.duty_set_status(tenant=self.tenant, actor=self.staff,
                                               sign_in=sign_in,
                                               status=request.POST.get("status", ""))
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("%(name)s is now %(status)s.") % {
                "name": sign_in.staff.name, "status": sign_in.get_status_display()})
        return redirect(board_url(sign_in.team))
