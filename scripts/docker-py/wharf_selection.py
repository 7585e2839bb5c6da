"""pytest plugin for scripts/docker-py.sh: leaves out the docker-py integration tests that cannot
run on any engine here (swarm and what needs it, plugins, and tests that pull from Docker Hub),
so a failure in what is left is a difference of the engine's. Loaded with -p wharf_selection."""
import inspect
import re
import warnings

# Files whose every test needs a swarm or the plugin store.
LEFT_OUT_FILES = (
    'api_swarm_test.py', 'api_service_test.py', 'api_secret_test.py', 'api_config_test.py',
    'api_plugin_test.py', 'models_swarm_test.py', 'models_services_test.py', 'models_nodes_test.py',
)

# A test that pulls reaches Docker Hub: `.pull(`, `images.pull`, or a build with pull=True; so do
# the registry's distribution inspect and a run of an image that exists nowhere (it pulls on 404).
# A test outside the swarm files that starts a swarm of its own (init_swarm: the network tests of
# scope, attachable and ingress networks) is a swarm test too.
PULLS = re.compile(r'\.pull\(|pull=True|inspect_distribution|run_with_image_that_does_not_exist|init_swarm\(')


def _source(item):
    fn = getattr(item, 'function', None)
    if fn is None:
        return ''
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ''


def pytest_collection_modifyitems(config, items):
    kept, left = [], []
    for item in items:
        name = item.fspath.basename
        # The credential-store tests drive docker-credential-* helpers, not an engine.
        if name in LEFT_OUT_FILES or item.fspath.dirname.endswith('credentials') or PULLS.search(_source(item)):
            left.append(item)
        else:
            kept.append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


# The suite's session fixture calls warnings.simplefilter('error'); docker-py 5.0.3 compares API
# versions with distutils' StrictVersion, which Debian's Python flags as deprecated, so every test
# would error in its setup on a warning that says nothing about the engine. Warnings stay warnings.
_simplefilter = warnings.simplefilter


def _keep_warnings(action, *args, **kwargs):
    _simplefilter('default' if action == 'error' else action, *args, **kwargs)


warnings.simplefilter = _keep_warnings
