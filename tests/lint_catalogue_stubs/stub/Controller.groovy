package stub

// The controller the stand-ins describe: a few plugins' worth of symbols, in the shapes Jenkins returns.
class Controller {
    // name -> [[param, Class, required], ...]
    static Map<String, List> MODELS = [
        'timestamps': [],
        'buildDiscarder': [['strategy', Object, true]],
        'timeout': [['time', int, true], ['unit', String, false], ['activity', boolean, false]],
        'retry': [['count', int, true]],
        'skipDefaultCheckout': [['skipDefaultCheckout', boolean, false]],
        'cron': [['spec', String, true]],
        'pollSCM': [['scmpoll_spec', String, true], ['ignorePostCommitHooks', boolean, false]],
        'string': [['name', String, true], ['defaultValue', String, false], ['description', String, false], ['trim', boolean, false]],
        'booleanParam': [['name', String, true], ['defaultValue', boolean, false], ['description', String, false]],
        'sh': [['script', String, true], ['returnStdout', boolean, false], ['returnStatus', boolean, false], ['label', String, false]],
        'echo': [['message', String, true]],
        'junit': [['testResults', String, true], ['allowEmptyResults', boolean, false]],
        'agent:label': [['label', String, true], ['customWorkspace', String, false]],
        'agent:kubernetes': [['yaml', String, false], ['cloud', String, false]],
        'when:branch': [['pattern', String, true], ['comparator', String, false]],
        'when:not': [],
        'when:expression': [],
    ]
    static Map<String, String> OPTIONS = ['buildDiscarder': 'jenkins.model.BuildDiscarderProperty', 'retry': 'retry',
                                          'skipDefaultCheckout': 'SkipDefaultCheckout', 'timeout': 'timeout',
                                          'timestamps': 'timestamps']
    static Set<String> STAGE_OPTIONS = ['retry', 'skipDefaultCheckout', 'timeout', 'timestamps'] as Set
    static Map<String, String> TRIGGERS = ['cron': 'hudson.triggers.TimerTrigger', 'pollSCM': 'hudson.triggers.SCMTrigger']
    static Map<String, String> PARAMETERS = ['booleanParam': 'hudson.model.BooleanParameterDefinition',
                                             'string': 'hudson.model.StringParameterDefinition']
    static Map<String, String> TOOLS = ['maven': 'hudson.tasks.Maven$MavenInstallation', 'jdk': 'hudson.model.JDK']
    static Map<String, List<String>> INSTALLATIONS = ['hudson.tasks.Maven$MavenInstallation': ['M3', 'apache-maven-3.0.1'],
                                                      'hudson.model.JDK': []]
    static List<String> AGENTS = ['any', 'none', 'label', 'kubernetes']
    static Map<String, Integer> WHEN = ['branch': 0, 'not': 1, 'expression': 0]
    static List<List> STEPS = [['sh', false], ['echo', false], ['junit', false], ['timeout', true], ['retry', true]]
}
