from django.apps import AppConfig


class ReferenceConfig(AppConfig):
    """The one deviation from the package's defaults, for the providers (see README.md).

    spid-cie-oidc 1.6.3 validates the request object's `ui_locales` as a JSON list, while OpenID Connect Core
    (3.1.2.1) makes it a space-separated string, which is what Sportello sends ("it"). The profile's request schema
    is swapped for one that reads the string as that list before the package's own checks; nothing else changes.
    """

    name = "reference"

    def ready(self):
        from pydantic import validator
        from spid_cie_oidc.provider import settings as provider_settings
        from spid_cie_oidc.provider.schemas.authn_requests import (
            AuthenticationRequestCie,
            AuthenticationRequestSpid,
        )

        def space_separated(cls, value):
            return value.split() if isinstance(value, str) else value

        for profile, schema in (("spid", AuthenticationRequestSpid), ("cie", AuthenticationRequestCie)):
            lenient = type(
                f"{schema.__name__}UiLocales",
                (schema,),
                {"ui_locales_space_separated": validator("ui_locales", pre=True, allow_reuse=True)(space_separated)},
            )
            provider_settings.OIDCFED_PROVIDER_PROFILES[profile]["authorization_request"] = lenient
