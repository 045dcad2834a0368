import pytest
from django.core.exceptions import ValidationError

from catalog.webhooks.validators import webhook_target_resolve, webhook_url_validate

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
    ],
)
def test_private_addresses_are_refused(settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError, match="webhooks only go to public hosts"):
        webhook_url_validate(url)


@pytest.mark.parametrize("url", ["ftp://93.184.216.34/hook", "file:///etc/passwd", "https:///x"])
def test_only_http_urls_are_accepted(url):
    with pytest.raises(ValidationError, match="http:// or https://"):
        webhook_url_validate(url)


def test_public_addresses_are_accepted(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    webhook_url_validate("https://93.184.216.34/hook")
    webhook_url_validate("http://[2606:4700:4700::1111]:8080/hook")


def test_the_target_is_the_checked_address_with_the_url_host_and_port(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    target = webhook_target_resolve("https://93.184.216.34/hook")
    assert (target.host, target.port, target.addresses) == (
        "93.184.216.34",
        443,
        ("93.184.216.34",),
    )


def test_an_unresolvable_host_is_refused():
    with pytest.raises(ValidationError, match="cannot be resolved"):
        webhook_target_resolve("http://no-such-host.invalid/hook")
