package jenkins.model

class Jenkins {
    static String VERSION = '2.568.2'
    static class Plugin { String shortName; String version }
    String rootUrl = 'http://controller.example/'
    Map pluginManager = [plugins: [new Plugin(shortName: 'pipeline-model-definition', version: '2.2293.v6e7193cec599'),
                                   new Plugin(shortName: 'kubernetes', version: '4423.vb_59f230b_ce53')]]
    static Jenkins get() { new Jenkins() }
}
