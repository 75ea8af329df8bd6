def tenancy(request):
    return {"current_staff": getattr(request, "staff", None),
            "current_tenant": getattr(request, "tenant", None)}
