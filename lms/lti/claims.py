"""Claim names of LTI 1.3 (IMS LTI Core 1.3, Security Framework 1.0) and the roster identifiers we accept.

Roster matching (first hit wins; the sub found is then linked, see docs/lti.md):
1. a previous launch linked this platform's ``sub`` to a user (``LtiUserLink``);
2. ``…/claim/lis`` ``person_sourcedid`` = OneRoster ``users.sourcedId``;
3. custom ``userMasterIdentifier`` / ``user_master_identifier`` = OneRoster ``userMasterIdentifier``;
4. ``sub`` itself as a OneRoster ``sourcedId``, then as a ``userMasterIdentifier`` — only for a platform
   registered with ``sub_is_roster_id`` (portals whose LTI user id is the roster id; an opaque sub such as
   ``1042`` would otherwise sign in whoever has that roster id).
"""

from __future__ import annotations

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = LTI + "message_type"
VERSION = LTI + "version"
DEPLOYMENT_ID = LTI + "deployment_id"
TARGET_LINK_URI = LTI + "target_link_uri"
RESOURCE_LINK = LTI + "resource_link"
ROLES = LTI + "roles"
CONTEXT = LTI + "context"
CUSTOM = LTI + "custom"
LIS = LTI + "lis"
LAUNCH_PRESENTATION = LTI + "launch_presentation"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
LTI_VERSION = "1.3.0"

# OneRoster userMasterIdentifier as a custom parameter (the portal's tool settings: userMasterIdentifier=$…)
USER_MASTER_IDENTIFIER_CUSTOM = ("userMasterIdentifier", "user_master_identifier", "usermasteridentifier")
# custom parameter naming the page to open (a deep link's content item carries it)
TARGET_CUSTOM = "giga_target"
# `LtiUserLink.matched_by` of the links made by trusting `sub` as a roster id (`sub_is_roster_id`): turning
# the switch off forgets exactly these (lms/lti/registration.py)
SUB_MATCHES = ("sub.sourced_id", "sub.user_master_identifier")
