"""Fetching images from URLs the user gave us, without letting them reach into our network (SSRF).

``fetch_image(url, settings)`` is the entry point; the policies it applies are separate modules
so each can be tested as a plain function, without any network.
"""
from bgremover.fetching.address_policy import AddressPolicy, parse_allowlist
from bgremover.fetching.data_uri import decode_data_uri, is_data_uri
from bgremover.fetching.fetcher import FetchedImage, FetchLimits, ImageFetcher, fetch_image
from bgremover.fetching.resolver import resolve_checked, resolve_host, resolve_target
from bgremover.fetching.url_policy import TargetUrl, parse_target_url, redact_url

__all__ = ["AddressPolicy", "FetchLimits", "FetchedImage", "ImageFetcher", "TargetUrl", "decode_data_uri",
           "fetch_image", "is_data_uri", "parse_allowlist", "parse_target_url", "redact_url", "resolve_checked",
           "resolve_host", "resolve_target"]
