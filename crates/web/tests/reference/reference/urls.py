"""Each process at the root of its own port: the entity configuration for all three, the federation API for the
anchor, the OpenID provider's endpoints (under `oidc/op/`) for a provider."""
from django.conf import settings
from django.urls import include, path

urlpatterns = [path("", include("spid_cie_oidc.entity.urls"))]
if settings.ROLE == "anchor":
    urlpatterns.append(path("", include("spid_cie_oidc.authority.urls")))
else:
    urlpatterns.append(path("", include("spid_cie_oidc.provider.urls")))
