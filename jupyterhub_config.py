# JupyterHub configuration of Code Tutor: assignments only.
#
# Every choice (embedded default or production, ports, data dir, ...) comes from
# codetutor.hub.config.HubSettings, which reads c.HubSettings.* or CODETUTOR_*
# environment variables; `codetutor up` sets those for the Hub it starts.
# Roles and scopes: codetutor/hub/roles.py. Spawner: codetutor/hub/spawner.py.
from codetutor.hub import roles
from codetutor.hub.config import HubSettings

settings = HubSettings(config=c)

# -- where it listens and what it keeps ---------------------------------------
c.JupyterHub.bind_url = settings.bind_url
c.JupyterHub.hub_bind_url = settings.hub_bind_url
c.JupyterHub.hub_connect_ip = settings.hub_connect_ip
c.JupyterHub.db_url = settings.hub_db_url
c.JupyterHub.cookie_secret_file = settings.path("hub", "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = settings.path("hub", "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = settings.path("hub", "proxy.pid")
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
c.ConfigurableHTTPProxy.command = settings.proxy_command
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
c.JupyterHub.authenticate_prometheus = settings.metrics_authenticated

# -- who may log in ------------------------------------------------------------
c.JupyterHub.authenticator_class = settings.authenticator_class
c.Authenticator.admin_users = set(settings.admin_users)
c.CodeTutorAuthenticator.accounts_file = settings.accounts_file
c.NativeAuthenticator.open_signup = False
c.NativeAuthenticator.minimum_password_length = 8
c.NativeAuthenticator.check_common_password = True
c.NativeAuthenticator.allowed_failed_logins = 5
c.NativeAuthenticator.seconds_before_next_try = 300
c.GenericOAuthenticator.allow_all = not settings.oauth_allowed_groups
c.GenericOAuthenticator.allowed_groups = set(settings.oauth_allowed_groups)
c.GenericOAuthenticator.manage_groups = True
c.GenericOAuthenticator.auth_state_groups_key = "oauth_user.groups"
c.GenericOAuthenticator.username_claim = "preferred_username"
c.GenericOAuthenticator.scope = ["openid", "profile", "email", "groups"]
# LTI 1.3 (CODETUTOR_LTI_CONFIG): launches from the LMS, recorded in the judge's database
c.LTIAuthenticator.tool_config_file = settings.lti_config_file
c.LTIAuthenticator.judge_db_url = settings.judge_db_url

# the admin page links to pending sign-ups (hub/templates)
c.JupyterHub.template_paths = settings.template_paths
c.JupyterHub.template_vars = settings.template_vars

# -- roles, groups, custom scopes ----------------------------------------------
c.JupyterHub.custom_scopes = roles.CUSTOM_SCOPES
c.JupyterHub.load_roles = settings.load_roles()
# production: the identity provider manages the groups (manage_groups above), and
# JupyterHub refuses to start with load_groups too (the roles create their groups)
c.JupyterHub.load_groups = roles.load_groups() if settings.embedded else {}

# -- user servers --------------------------------------------------------------
c.JupyterHub.spawner_class = settings.spawner_class
c.Spawner.server_token_scopes = roles.server_token_scopes()
c.Spawner.environment = settings.user_environment()
c.Spawner.default_url = "/lab"
c.Spawner.mem_limit = settings.mem_limit
c.Spawner.cpu_limit = settings.cpu_limit
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.BubblewrapSpawner.homes_dir = settings.path("users")
c.DockerSpawner.image = settings.user_image
c.DockerSpawner.network_name = settings.docker_network
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.remove = True
c.DockerSpawner.notebook_dir = "/home/jovyan/work"
c.DockerSpawner.volumes = {"codetutor-user-{username}": "/home/jovyan/work"}
# A student's container: no capabilities, no privilege gain, bounded processes.
c.DockerSpawner.extra_host_config = {
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
    "pids_limit": 1024,
}

# -- the judge, the tutor and the idle culler as Hub-managed services ---------
c.JupyterHub.services = settings.services()
