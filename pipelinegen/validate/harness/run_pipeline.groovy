// pipelinegen execution harness: runs a declarative Jenkinsfile and its shared library under plain
// Groovy 2.4 (the Groovy Jenkins embeds) with a stub pipeline DSL, and records what it would execute.
//
// Usage: groovy run_pipeline.groovy CONFIG.json   (one JVM for every run listed in the config; validate runs its
// compiled copy from the cache: pipelinegen/lint/groovy.py cached_script_command)
// CONFIG: {"jenkinsfile": path, "workspace": dir the libraryPath is relative to,
//          "runs": [{"name": str, "params": {..job parameters..}, "env": {..}, "fail": {cell id: attempts}}]}
// Output: one JSON line per run: {"name", "ok", "result", "params", "events": [...], "bugs": [...]}.
//
// Strict on purpose: an undefined name, an unsupported step, an unknown step argument, a workspace step
// outside `node`, an unstash of a stash not yet made (parallel branches only see each other's stashes after
// the parallel step, as in Jenkins) all raise. `bugs` lists exceptions that are not a build failing the
// normal way (`error`, a failing `sh`), wherever they were caught, with the Groovy file and line.

import groovy.json.JsonOutput
import groovy.json.JsonSlurperClassic
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.ast.ClassHelper
import org.codehaus.groovy.ast.ClassNode
import org.codehaus.groovy.ast.MethodNode
import org.codehaus.groovy.ast.expr.ArgumentListExpression
import org.codehaus.groovy.ast.expr.ConstantExpression
import org.codehaus.groovy.ast.expr.StaticMethodCallExpression
import org.codehaus.groovy.ast.stmt.BlockStatement
import org.codehaus.groovy.ast.stmt.ExpressionStatement
import org.codehaus.groovy.ast.stmt.Statement
import org.codehaus.groovy.ast.stmt.TryCatchStatement
import org.codehaus.groovy.classgen.GeneratorContext
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.CompilePhase
import org.codehaus.groovy.control.Phases
import org.codehaus.groovy.tools.GroovyClass
import org.codehaus.groovy.control.SourceUnit
import org.codehaus.groovy.control.customizers.CompilationCustomizer
import org.codehaus.groovy.control.customizers.ImportCustomizer
import org.codehaus.groovy.runtime.InvokerHelper

/** Raised for what Jenkins would reject: always a bug in the Jenkinsfile or the library. */
class HarnessError extends RuntimeException {
    HarnessError(String message) { super(message) }
}

/** Base class of the Jenkinsfile and of every vars/*.groovy script: missing methods are steps. */
abstract class HarnessScript extends Script {
    def methodMissing(String name, args) {
        return ((HarnessBinding) getBinding()).harness.invokeStep(name, args as Object[], this)
    }
}

/** Script properties (env, params, scm, currentBuild, library globals) come from the running harness. */
class HarnessBinding extends Binding {
    Harness harness
    HarnessBinding(Harness harness) { this.harness = harness }
    Object getVariable(String name) { return harness.globalVariable(name) }
    void setVariable(String name, Object value) { harness.scriptVariables[name] = value }
    boolean hasVariable(String name) { return harness.hasGlobal(name) }
    Map getVariables() { return harness.scriptVariables }
}

/** `env`: withEnv/node overlays first, then the build's environment; unset names read as null. */
class EnvProxy extends GroovyObjectSupport {
    Harness harness
    EnvProxy(Harness harness) { this.harness = harness }
    Object getProperty(String name) { return harness.envValue(name) }
    void setProperty(String name, Object value) {
        if (value == null) { harness.globalEnv.remove(name) } else { harness.globalEnv[name] = value.toString() }
    }
    Object getAt(String name) { return harness.envValue(name) }
    void putAt(String name, Object value) { setProperty(name, value) }
}

class CurrentBuild extends GroovyObjectSupport {
    Harness harness
    String displayName = '#1'
    String description = ''
    CurrentBuild(Harness harness) { this.harness = harness }
    Object getProperty(String name) {
        switch (name) {
            case 'result': return harness.result == 'SUCCESS' && !harness.finished ? null : harness.result
            case 'currentResult': return harness.result
            case 'number': return 1
            case 'displayName': return displayName
            case 'description': return description
            case 'absoluteUrl': return harness.globalEnv.BUILD_URL
            case 'startTimeInMillis': return harness.startedMs
            default: throw new HarnessError("currentBuild.${name} is not supported by the harness")
        }
    }
    void setProperty(String name, Object value) {
        switch (name) {
            case 'result': harness.worsen(value as String); break
            case 'displayName': displayName = value as String; break
            case 'description': description = value as String; break
            default: throw new HarnessError("currentBuild.${name} cannot be set")
        }
    }
}

// ---- declarative model -------------------------------------------------------------------------

class StageModel {
    String name
    Object agent
    Closure when
    boolean beforeAgent
    Closure environment  // evaluated when the stage starts, as in Jenkins
    List options = []
    Closure steps
    List stages
    List parallel
    Map matrix  // [axes: [[name, values]], excludes: [[[name, values, notValues]]], agent, stages]
    Map post = [:]
    boolean failFast
}

class PipelineModel {
    Object agent
    List options = []
    List parameters = []
    Closure environment  // evaluated after the parameters are resolved
    List stages
    Map post = [:]
}

/** Shared by the declarative section delegates: names resolve to globals, anything else is a typo. */
abstract class Section {
    Harness harness
    String where
    def propertyMissing(String name) {
        if (name == 'none' || name == 'any') {
            return name  // `agent none` / `agent any`
        }
        if (harness.hasGlobal(name)) {
            return harness.globalVariable(name)
        }
        throw new HarnessError("undefined name '${name}' in ${where}")
    }
    def methodMissing(String name, args) {
        throw new HarnessError("'${name}' is not allowed in ${where}")
    }
    Closure delegated(Closure body, Object delegate) {
        Closure copy = (Closure) body.clone()
        copy.delegate = delegate
        copy.resolveStrategy = Closure.DELEGATE_ONLY
        return copy
    }
}

class AgentSection extends Section {
    Map spec = [:]
    void label(String value) { spec.label = value }
    void node(Closure body) { delegated(body, this).call() }
    void customWorkspace(String value) { spec.customWorkspace = value }
    void docker(Object value) { throw new HarnessError('agent docker is not supported by the harness') }
    void dockerfile(Object value) { throw new HarnessError('agent dockerfile is not supported by the harness') }
    void kubernetes(Object value) { throw new HarnessError('agent kubernetes is not supported by the harness') }
}

class OptionsSection extends Section {
    static final Set<String> KNOWN = ['buildDiscarder', 'checkoutToSubdirectory', 'disableConcurrentBuilds',
        'disableResume', 'durabilityHint', 'newContainerPerStage', 'overrideIndexTriggers', 'parallelsAlwaysFailFast',
        'preserveStashes', 'quietPeriod', 'rateLimitBuilds', 'retry', 'skipDefaultCheckout', 'skipStagesAfterUnstable',
        'timeout', 'timestamps', 'ansiColor', 'copyArtifactPermission', 'disableRestartFromStage'] as Set
    List options = []
    def logRotator(Map args) { return [logRotator: args] }
    def methodMissing(String name, args) {
        if (!((harness.config.rulebook?.options ?: KNOWN) as Set).contains(name)) {  // rulebook: lint's catalogue
            throw new HarnessError("unknown option '${name}' in ${where}")
        }
        options.add([name: name, args: (args as List)])
        return null
    }
}

class ParametersSection extends Section {
    List definitions = []
    private void add(String type, Map args, Set known) {
        Set allowed = (harness.config.rulebook?.parameters?.get(type) ?: known) as Set  // rulebook: lint's catalogue
        for (Object key : args.keySet()) {
            if (!allowed.contains(key)) {
                throw new HarnessError("${type}(): unknown argument '${key}'")
            }
        }
        if (!(args.name instanceof CharSequence) || !args.name) {
            throw new HarnessError("${type}(): a parameter needs a name")
        }
        for (Map d : definitions) {
            if (d.name == args.name.toString()) {
                throw new HarnessError("duplicate parameter '${args.name}'")
            }
        }
        definitions.add([type: type, name: args.name.toString(), defaultValue: args.defaultValue,
                         choices: args.choices])
    }
    void string(Map args) { add('string', args, ['name', 'defaultValue', 'description', 'trim'] as Set) }
    void text(Map args) { add('text', args, ['name', 'defaultValue', 'description', 'trim'] as Set) }
    void password(Map args) { add('password', args, ['name', 'defaultValue', 'description'] as Set) }
    void booleanParam(Map args) { add('booleanParam', args, ['name', 'defaultValue', 'description'] as Set) }
    void choice(Map args) {
        add('choice', args, ['name', 'choices', 'description'] as Set)
        Object choices = args.choices
        if (!(choices instanceof List) || ((List) choices).isEmpty()) {
            throw new HarnessError("choice(name: '${args.name}'): choices must be a non-empty list")
        }
    }
}

class EnvironmentSection extends Section {
    Map values = [:]
    def propertyMissing(String name) {
        if (values.containsKey(name)) {
            return values[name]
        }
        if (name == 'env' || name == 'params' || name == 'currentBuild') {
            return harness.globalVariable(name)
        }
        Object value = harness.envValue(name)
        if (value == null) {
            throw new HarnessError("undefined name '${name}' in ${where}")
        }
        return value
    }
    void setProperty(String name, Object value) {
        if (name in ['harness', 'where', 'values']) {
            getMetaClass().setProperty(this, name, value)
            return
        }
        if (!(name ==~ /[A-Za-z_][A-Za-z0-9_]*/)) {
            throw new HarnessError("invalid environment variable name '${name}'")
        }
        values[name] = value == null ? null : value.toString()
    }
    def credentials(String id) { throw new HarnessError("credentials('${id}') is not supported by the harness") }
}

class WhenSection extends Section {
    List conditions = []
    boolean beforeAgent = false
    void beforeAgent(boolean value) { beforeAgent = value }
    void beforeInput(boolean value) { }
    void beforeOptions(boolean value) { }
    void branch(String pattern) {
        conditions.add({ -> Harness.globMatches(pattern, harness.envValue('BRANCH_NAME') as String) })
    }
    void environment(Map args) {
        conditions.add({ -> harness.envValue(args.name as String) == (args.value as String) })
    }
    void equals(Map args) {
        conditions.add({ -> args.actual == args.expected })
    }
    void expression(Closure body) {
        conditions.add({ -> harness.withSteps(body).call() as boolean })
    }
    void changeRequest(Map args = [:]) { conditions.add({ -> harness.envValue('CHANGE_ID') != null }) }
    void buildingTag() { conditions.add({ -> harness.envValue('TAG_NAME') != null }) }
    void not(Closure body) {
        WhenSection inner = nested(body)
        if (inner.conditions.size() != 1) {
            throw new HarnessError('when { not { ... } } takes exactly one condition')
        }
        conditions.add({ -> !inner.conditions[0].call() })
    }
    void allOf(Closure body) {
        WhenSection inner = nested(body)
        conditions.add({ -> inner.conditions.every { it.call() } })
    }
    void anyOf(Closure body) {
        WhenSection inner = nested(body)
        conditions.add({ -> inner.conditions.any { it.call() } })
    }
    private WhenSection nested(Closure body) {
        WhenSection inner = new WhenSection(harness: harness, where: where)
        delegated(body, inner).call()
        return inner
    }
}

class PostSection extends Section {
    static final List<String> ORDER = ['always', 'changed', 'fixed', 'regression', 'aborted', 'failure',
                                       'success', 'unstable', 'unsuccessful', 'notBuilt', 'cleanup']
    Map conditions = [:]
    def methodMissing(String name, args) {
        Object[] list = args as Object[]
        if (!ORDER.contains(name) || list.length != 1 || !(list[0] instanceof Closure)) {
            throw new HarnessError("unknown post condition '${name}' in ${where}")
        }
        if (conditions.containsKey(name)) {
            throw new HarnessError("post condition '${name}' given twice in ${where}")
        }
        conditions[name] = list[0]
        return null
    }
}

class StagesSection extends Section {
    List stages = []
    void stage(String name, Closure body) {
        for (StageModel other : stages) {
            if (other.name == name) {
                throw new HarnessError("duplicate stage name '${name}'")
            }
        }
        StageSection section = new StageSection(harness: harness, where: "stage('${name}')",
                                                model: new StageModel(name: name))
        delegated(body, section).call()
        StageModel model = section.model
        int kinds = (model.steps ? 1 : 0) + (model.stages != null ? 1 : 0) + (model.parallel != null ? 1 : 0) +
                    (model.matrix != null ? 1 : 0)
        if (kinds != 1) {
            throw new HarnessError("stage('${name}') needs exactly one of steps, stages, parallel or matrix")
        }
        stages.add(model)
    }
}

class StageSection extends Section {
    StageModel model
    void agent(Object value) { model.agent = harness.agentSpec(value, where) }
    void when(Closure body) {
        WhenSection section = new WhenSection(harness: harness, where: "${where} when")
        delegated(body, section).call()
        model.beforeAgent = section.beforeAgent
        model.when = { -> section.conditions.every { it.call() } }
    }
    void environment(Closure body) { model.environment = body }
    void options(Closure body) {
        OptionsSection section = new OptionsSection(harness: harness, where: "${where} options")
        delegated(body, section).call()
        model.options = section.options
    }
    void steps(Closure body) { model.steps = body }
    void stages(Closure body) {
        StagesSection section = new StagesSection(harness: harness, where: "${where} stages")
        delegated(body, section).call()
        if (section.stages.isEmpty()) {
            throw new HarnessError("${where}: stages { } is empty")
        }
        model.stages = section.stages
    }
    void parallel(Closure body) {
        StagesSection section = new StagesSection(harness: harness, where: "${where} parallel")
        delegated(body, section).call()
        for (StageModel branch : section.stages) {
            if (branch.parallel != null) {
                throw new HarnessError("${where}: parallel inside a parallel branch ('${branch.name}')")
            }
        }
        model.parallel = section.stages
    }
    void failFast(boolean value) { model.failFast = value }
    void post(Closure body) {
        PostSection section = new PostSection(harness: harness, where: "${where} post")
        delegated(body, section).call()
        model.post = section.conditions
    }
    void matrix(Closure body) {
        MatrixSection section = new MatrixSection(harness: harness, where: "${where} matrix")
        delegated(body, section).call()
        if (section.axes.isEmpty() || section.stages == null) {
            throw new HarnessError("${where}: matrix needs axes and stages")
        }
        model.matrix = [axes: section.axes, excludes: section.excludes, agent: section.agent, stages: section.stages]
    }
    void input(Closure body) { throw new HarnessError("${where}: input is not supported by the harness") }
    void tools(Closure body) { throw new HarnessError("${where}: tools is not supported by the harness") }
}

/** matrix { agent; axes { axis { name 'X'; values 'a', 'b' } }; excludes { exclude { axis {...} } }; stages } */
class MatrixSection extends Section {
    List axes = []
    List excludes = []
    Object agent
    List stages
    void agent(Object value) { agent = harness.agentSpec(value, where) }
    void axes(Closure body) {
        AxisListSection section = new AxisListSection(harness: harness, where: "${where} axes")
        delegated(body, section).call()
        Set names = new HashSet()
        for (Map axis : section.axes) {
            if (!names.add(axis.name)) {
                throw new HarnessError("${where}: duplicate axis '${axis.name}'")
            }
            if (axis.values.isEmpty() || new HashSet(axis.values).size() != axis.values.size()) {
                throw new HarnessError("${where}: axis '${axis.name}' needs distinct values")
            }
        }
        axes = section.axes
    }
    void excludes(Closure body) {
        ExcludesSection section = new ExcludesSection(harness: harness, where: "${where} excludes")
        delegated(body, section).call()
        excludes = section.excludes
    }
    void stages(Closure body) {
        StagesSection section = new StagesSection(harness: harness, where: "${where} stages")
        delegated(body, section).call()
        stages = section.stages
    }
}

class AxisListSection extends Section {
    List axes = []
    void axis(Closure body) {
        AxisSection section = new AxisSection(harness: harness, where: "${where} axis")
        delegated(body, section).call()
        if (!section.name) {
            throw new HarnessError("${where}: an axis needs a name")
        }
        axes.add([name: section.name, values: section.values, notValues: section.notValues])
    }
}

class AxisSection extends Section {
    String name
    List values = []
    List notValues = []
    void name(String value) { name = value }
    void values(String... items) { values.addAll(items as List) }
    void notValues(String... items) { notValues.addAll(items as List) }
}

class ExcludesSection extends Section {
    List excludes = []
    void exclude(Closure body) {
        AxisListSection section = new AxisListSection(harness: harness, where: "${where} exclude")
        delegated(body, section).call()
        excludes.add(section.axes)
    }
}

class PipelineSection extends Section {
    PipelineModel model = new PipelineModel()
    void agent(Object value) { model.agent = harness.agentSpec(value, where) }
    void options(Closure body) {
        OptionsSection section = new OptionsSection(harness: harness, where: 'pipeline options')
        delegated(body, section).call()
        model.options = section.options
    }
    void parameters(Closure body) {
        ParametersSection section = new ParametersSection(harness: harness, where: 'pipeline parameters')
        delegated(body, section).call()
        model.parameters = section.definitions
    }
    void environment(Closure body) { model.environment = body }
    void stages(Closure body) {
        StagesSection section = new StagesSection(harness: harness, where: 'pipeline stages')
        delegated(body, section).call()
        if (section.stages.isEmpty()) {
            throw new HarnessError('pipeline stages { } is empty')
        }
        model.stages = section.stages
    }
    void post(Closure body) {
        PostSection section = new PostSection(harness: harness, where: 'pipeline post')
        delegated(body, section).call()
        model.post = section.conditions
    }
    void triggers(Closure body) { }
    void tools(Closure body) { throw new HarnessError('pipeline tools is not supported by the harness') }
}

/** What `steps { }`, `script { }`, `post` and `when { expression }` bodies resolve names against. */
class StepsDelegate extends GroovyObjectSupport {
    Harness harness
    Script script
    Object invokeMethod(String name, Object args) {
        return harness.invokeStep(name, args as Object[], script)
    }
    Object getProperty(String name) {
        if (harness.hasGlobal(name)) {
            return harness.globalVariable(name)
        }
        throw new HarnessError("undefined name '${name}'")
    }
}


// ---- the executing mode: a local Jenkinsfile runner -------------------------------------------------
// run.execute = {root, agents: [{name, labels}], env: {...}, kill: {cell id: attempts}}: `sh` really runs
// (bash, in the agent's workspace, with the step environment, killed at the timeout step's deadline),
// writeFile/readFile/fileExists/deleteDir/dir act on files, checkout clones with git, stash/unstash copy the
// Ant-pattern matches through a store, junit parses the reports (UNSTABLE on a failure unless
// skipMarkingBuildUnstable), archiveArtifacts copies into root/archive, node(label) takes a free agent of a
// small pool whose labels satisfy the expression. Parallel branches still run one after the other.
// A "killed" cell (run.execute.kill) loses its agent mid-command, as a removed pod does: the command is
// killed and every later step on that node fails with a non-actual FlowInterruptedException.

class Executor {
    Harness harness
    File root
    List<Map> agents
    Map<String, Integer> kills = [:]
    Map<String, Integer> killsSeen = [:]
    Map<String, String> agentEnv = [:]
    Set<String> lost = new HashSet<String>()
    Set<String> busy = new HashSet<String>()
    int rotation = 0
    File console
    Map tests = [total: 0, failed: 0, skipped: 0]

    Executor(Harness harness, Map spec) {
        this.harness = harness
        root = new File(spec.root as String)
        agents = (List<Map>) spec.agents
        (spec.kill ?: [:]).each { k, v -> kills[k as String] = v as Integer }
        (spec.env ?: [:]).each { k, v -> agentEnv[k as String] = v as String }
        new File(root, 'archive').mkdirs()
        console = new File(root, 'console.log')
        console.text = ''
    }

    void log(String text) {
        console.append(text.endsWith('\n') ? text : text + '\n', 'UTF-8')
    }

    /** A free agent whose labels (and own name) satisfy the expression; agents a node lost never come back
     *  under the same name. Taken in rotation, so consecutive cells spread over the pool as Jenkins's would. */
    Map allocate(String label) {
        List<Map> fitting = agents.findAll { Map agent ->
            !lost.contains(agent.name) && !busy.contains(agent.name) &&
                LabelExpression.matches(label, ((agent.labels ?: []) as List) + [agent.name])
        }
        if (fitting.isEmpty()) {
            throw new HarnessError("no agent of the pool matches '${label}' (a real controller would wait forever)")
        }
        Map agent = fitting[rotation++ % fitting.size()]
        busy.add(agent.name as String)
        log("[Pipeline] node\nRunning on ${agent.name} in ${workspace(agent.name as String)}")
        return agent
    }

    void release(Map agent) { busy.remove(agent.name as String) }

    File workspace(String agentName) {
        File dir = new File(root, "agents/${agentName}/workspace")
        dir.mkdirs()
        return dir
    }

    void checkAlive(String agentName) {
        if (lost.contains(agentName)) {
            throw interruption("Agent ${agentName} was removed", false)
        }
    }

    Throwable interruption(String message, boolean actual) {
        return (Throwable) harness.interruptClass.newInstance(message, actual)
    }

    File cwd() {
        File workspace = (File) harness.frame('workspace').workspace
        String dir = harness.frame('dir')?.dir
        File out = dir ? new File(workspace, dir) : workspace
        out.mkdirs()
        return out
    }

    File workspaceRoot() { return (File) harness.frame('workspace').workspace }

    // ---- steps ----
    Object step_sh(Map a, Closure body) {
        Map env = harness.overlayEnv()
        String cell = env.PIPELINEGEN_CELL_ID ?: env.PIPELINEGEN_CELL
        boolean runCell = cell != null && (a.script as String).contains('run-cell.sh')
        Map event = harness.record([type: 'sh', script: a.script as String, label: a.label as String,
                                    dir: harness.frame('dir')?.dir, timeout: harness.frame('timeout')?.timeout,
                                    cell: cell, command: env.PIPELINEGEN_COMMAND, env: env])
        if (runCell) {
            harness.attemptsSeen[cell] = (harness.attemptsSeen[cell] ?: 0) + 1
        }
        ProcessBuilder builder = new ProcessBuilder('bash', '-c', a.script as String).directory(cwd()).redirectErrorStream(true)
        Map processEnv = builder.environment()
        processEnv.clear()
        processEnv.putAll(agentEnv)
        processEnv.putAll(harness.globalEnv)
        processEnv.putAll(env)
        log("+ ${a.label ?: a.script}")
        Process process = builder.start()
        ByteArrayOutputStream output = new ByteArrayOutputStream()
        Thread reader = Thread.start {
            byte[] buffer = new byte[8192]
            int n
            while ((n = process.inputStream.read(buffer)) > 0) {
                synchronized (output) { output.write(buffer, 0, n) }
                console.append(new String(buffer, 0, n, 'UTF-8'), 'UTF-8')
            }
        }
        String node = harness.frame('node').node as String
        if (runCell && harness.attemptsSeen[cell] <= (kills[cell] ?: 0)) {
            Thread.sleep(200)  // the agent dies while the command runs
            kill(process)
            reader.join(5000)
            lost.add(node)
            event.status = null
            log("Agent ${node} was removed: the command's process is gone")
            throw interruption("Agent ${node} was removed", false)
        }
        Long deadline = harness.frame('timeout')?.timeout?.deadline as Long
        boolean finished = deadline == null ? process.waitFor(7, java.util.concurrent.TimeUnit.DAYS) :
                           process.waitFor(Math.max(1L, deadline - System.currentTimeMillis()), java.util.concurrent.TimeUnit.MILLISECONDS)
        if (!finished) {
            kill(process)
            reader.join(5000)
            event.status = null
            log('Timeout has been exceeded')
            throw interruption('Timeout has been exceeded', false)
        }
        reader.join()
        int status = process.exitValue()
        event.status = status
        if (a.returnStatus) {
            return status
        }
        if (status != 0) {
            harness.abort("script returned exit code ${status}")
        }
        return a.returnStdout ? new String(output.toByteArray(), 'UTF-8') : null
    }

    static void kill(Process process) {
        process.toHandle().descendants().each { it.destroyForcibly() }
        process.destroyForcibly()
        process.waitFor()
    }

    Object step_echo(Map a, Closure body) {
        log(a.message as String)
        return harness.step_echo(a, body)
    }

    Object step_deleteDir(Map a, Closure body) {
        harness.record([type: 'deleteDir', dir: harness.frame('dir')?.dir])
        cwd().deleteDir()
        return null
    }

    Object step_writeFile(Map a, Closure body) {
        harness.step_writeFile(a, body)  // the checks and the event (a .json file must be JSON)
        File file = new File(cwd(), a.file as String)
        file.parentFile.mkdirs()
        file.setText(a.text as String, (a.encoding ?: 'UTF-8') as String)
        return null
    }

    Object step_readFile(Map a, Closure body) {
        File file = new File(cwd(), a.file as String)
        if (!file.isFile()) {
            harness.abort("${file} does not exist")
        }
        return file.getText('UTF-8')
    }

    Object step_fileExists(Map a, Closure body) { return new File(cwd(), a.file as String).exists() }

    Object step_checkout(Map a, Closure body) {
        Map spec = (Map) a.scm
        String url = (spec.userRemoteConfigs ?: [[:]])[0]?.url
        String branch = ((spec.branches ?: [[:]])[0]?.name ?: 'HEAD') as String
        harness.record([type: 'checkout', scm: spec.harness == 'scm' ? 'scm' : spec.'$class', url: url, ref: branch,
                        dir: harness.frame('dir')?.dir])
        branch = branch.startsWith('*/') ? branch.substring(2) : branch
        File dir = cwd()
        git(dir, ['init', '-q', '.'])
        git(dir, ['fetch', '-q', '--no-tags', url, '+refs/heads/*:refs/remotes/origin/*'])
        String ref = git(dir, ['rev-parse', '-q', '--verify', "origin/${branch}^{commit}".toString()], true) ?:
                     git(dir, ['rev-parse', '-q', '--verify', "${branch}^{commit}".toString()], true)
        if (!ref) {
            harness.abort("Couldn't find any revision to build: ${branch} of ${url}")
        }
        git(dir, ['checkout', '-q', '-f', ref.trim()])
        log("Checking out Revision ${ref.trim()} (${branch})")
        return [GIT_COMMIT: ref.trim(), GIT_URL: url]
    }

    String git(File dir, List args, boolean quiet = false) {
        Process process = new ProcessBuilder(['git'] + args).directory(dir).redirectErrorStream(!quiet).start()
        String out = process.inputStream.getText('UTF-8')
        if (process.waitFor() != 0) {
            if (quiet) {
                return ''
            }
            harness.abort("git ${args.join(' ')} failed: ${out.trim()}")
        }
        return out
    }

    /** Ant patterns (comma-separated) as the stash, junit and archiveArtifacts steps read them. */
    static List<String> matching(File base, String patterns, String excludes = '') {
        List<java.util.regex.Pattern> wanted = antPatterns(patterns)
        List<java.util.regex.Pattern> unwanted = antPatterns(excludes ?: '')
        List<String> out = []
        if (!base.isDirectory()) {
            return out
        }
        base.eachFileRecurse(groovy.io.FileType.FILES) { File file ->
            String rel = base.toPath().relativize(file.toPath()).toString().replace('\\', '/')
            if (rel.startsWith('.git/') || rel.contains('/.git/')) {
                return  // Ant's default excludes
            }
            if (wanted.any { it.matcher(rel).matches() } && !unwanted.any { it.matcher(rel).matches() }) {
                out.add(rel)
            }
        }
        return out.sort()
    }

    static List<java.util.regex.Pattern> antPatterns(String patterns) {
        List out = []
        for (String raw : patterns.split(',')) {
            String pattern = raw.trim().replace('\\', '/')
            if (!pattern) {
                continue
            }
            if (pattern.endsWith('/')) {
                pattern += '**'
            }
            StringBuilder regex = new StringBuilder()
            int i = 0
            while (i < pattern.length()) {
                if (pattern.startsWith('**/', i)) {
                    regex.append('(?:.*/)?'); i += 3
                } else if (pattern.startsWith('**', i)) {
                    regex.append('.*'); i += 2
                } else if (pattern.charAt(i) == '*' as char) {
                    regex.append('[^/]*'); i++
                } else if (pattern.charAt(i) == '?' as char) {
                    regex.append('[^/]'); i++
                } else {
                    regex.append(java.util.regex.Pattern.quote(pattern.substring(i, i + 1))); i++
                }
            }
            out.add(java.util.regex.Pattern.compile(regex.toString()))
        }
        return out
    }

    static void copy(File from, File to) {
        to.parentFile.mkdirs()
        java.nio.file.Files.copy(from.toPath(), to.toPath(), java.nio.file.StandardCopyOption.REPLACE_EXISTING)
    }

    Object step_stash(Map a, Closure body) {
        harness.step_stash(a, body)
        File base = cwd()
        List<String> files = matching(base, (a.includes ?: '**') as String, (a.excludes ?: '') as String)
        if (files.isEmpty() && !a.allowEmpty) {
            harness.abort("No files included in stash ‘${a.name}’")
        }
        File store = new File(root, "stashes/${a.name}")
        store.deleteDir()
        store.mkdirs()
        files.each { copy(new File(base, it), new File(store, it)) }
        log("Stashed ${files.size()} file(s)")
        return null
    }

    Object step_unstash(Map a, Closure body) {
        harness.step_unstash(a, body)  // visibility across parallel branches, as in Jenkins
        File store = new File(root, "stashes/${a.name}")
        File base = cwd()
        matching(store, '**').each { copy(new File(store, it), new File(base, it)) }
        return null
    }

    Object step_junit(Map a, Closure body) {
        File base = workspaceRoot()
        List<String> files = matching(base, a.testResults as String)
        int total = 0, failed = 0, skipped = 0
        for (String rel : files) {
            def suite
            try {
                suite = new XmlSlurper(false, false).parse(new File(base, rel))
            } catch (Exception err) {
                harness.abort("Failed to read test report file ${rel}: ${err.message}")
            }
            suite.'**'.findAll { it.name() == 'testcase' }.each { testcase ->
                total++
                if (testcase.failure.size() || testcase.error.size()) {
                    failed++
                } else if (testcase.skipped.size()) {
                    skipped++
                }
            }
        }
        if (files.isEmpty() && !a.allowEmptyResults) {
            harness.abort("No test report files were found. Configuration error?")
        }
        tests.total += total
        tests.failed += failed
        tests.skipped += skipped
        harness.record([type: 'junit', testResults: a.testResults as String, allowEmptyResults: a.allowEmptyResults ?: false,
                        files: files.size(), total: total, failed: failed])
        log("Recording test results: ${total} tests, ${failed} failing")
        if (failed && !a.skipMarkingBuildUnstable) {
            harness.worsen('UNSTABLE')
        }
        return [totalCount: total, failCount: failed, skipCount: skipped, passCount: total - failed - skipped]
    }

    Object step_archiveArtifacts(Map a, Closure body) {
        harness.step_archiveArtifacts(a, body)
        File base = workspaceRoot()
        List<String> files = matching(base, a.artifacts as String, (a.excludes ?: '') as String)
        if (files.isEmpty() && !a.allowEmptyArchive) {
            harness.abort("No artifacts found that match the file pattern \"${a.artifacts}\". Configuration error?")
        }
        files.each { copy(new File(base, it), new File(root, "archive/${it}")) }
        log("Archiving ${files.size()} artifact(s)")
        return null
    }
}

// ---- the runtime -----------------------------------------------------------------------------

class Harness {
    // step -> [named arguments it accepts, the argument a lone positional value is, needs a node, takes a body]
    static final Map STEPS = [
        sh: [['script', 'label', 'returnStatus', 'returnStdout', 'encoding'], 'script', true, false],
        echo: [['message'], 'message', false, false],
        error: [['message'], 'message', false, false],
        unstable: [['message'], 'message', false, false],
        node: [['label'], 'label', false, true],
        ws: [['dir'], 'dir', true, true],
        dir: [['path'], 'path', true, true],
        deleteDir: [[], null, true, false],
        checkout: [['scm', 'changelog', 'poll'], 'scm', true, false],
        stash: [['name', 'includes', 'excludes', 'allowEmpty', 'useDefaultExcludes'], 'name', true, false],
        unstash: [['name'], 'name', true, false],
        writeFile: [['file', 'text', 'encoding'], null, true, false],
        readFile: [['file', 'encoding'], 'file', true, false],
        fileExists: [['file'], 'file', true, false],
        libraryResource: [['resource', 'encoding'], 'resource', false, false],
        readJSON: [['text', 'file', 'returnPojo'], null, false, false],
        writeJSON: [['file', 'json', 'pretty', 'returnText'], null, true, false],
        withEnv: [['overrides'], 'overrides', false, true],
        timeout: [['time', 'unit', 'activity'], 'time', false, true],
        retry: [['count', 'conditions'], 'count', false, true],
        sleep: [['time', 'unit'], 'time', false, false],
        junit: [['testResults', 'allowEmptyResults', 'keepLongStdio', 'skipPublishingChecks', 'healthScaleFactor',
                 'skipMarkingBuildUnstable', 'testDataPublishers', 'checksName', 'keepProperties', 'keepTestNames',
                 'stdioRetention'], 'testResults', true, false],
        archiveArtifacts: [['artifacts', 'allowEmptyArchive', 'excludes', 'fingerprint', 'onlyIfSuccessful',
                            'caseSensitive', 'defaultExcludes', 'followSymlinks'], 'artifacts', true, false],
        catchError: [['buildResult', 'stageResult', 'message', 'catchInterruptions'], null, false, true],
        warnError: [['message', 'catchInterruptions'], 'message', false, true],
        script: [[], null, false, true],
        timestamps: [[], null, false, true],
        isUnix: [[], null, true, false],
        parallel: [[], null, false, false],
    ]
    static final List<String> RESULTS = ['SUCCESS', 'UNSTABLE', 'FAILURE', 'NOT_BUILT', 'ABORTED']

    Map config
    Map run
    GroovyClassLoader loader
    Map classCache
    Class abortClass
    Class interruptClass
    File workspace

    Map<String, Object> params = [:]
    Map<String, String> globalEnv = [:]
    Map<String, Object> scriptVariables = [:]
    Map<String, Script> vars = [:]
    Map<String, String> varFiles = [:]
    List<Map> frames = []
    List<Map> events = []
    List<Map> bugs = []
    Set<Integer> reported = new HashSet<Integer>()
    Map<String, Map> stashes = [:]
    Map<String, String> files = [:]
    static Map<String, Object> jsonCache = [:]
    static Map<String, String> resourceCache = [:]
    Map<String, Integer> failures = [:]
    Map<String, Integer> testFailures = [:]  // cell id -> how many attempts report a failing test (junit)
    Map<String, Integer> attemptsSeen = [:]
    long startedMs = System.currentTimeMillis()
    String result = 'SUCCESS'
    boolean finished = false
    int stepBudget  // far above any real build (run.step_budget); a runaway loop of steps stops here
    boolean stageFailed = false  // declarative skips later stages after a stage *threw*, not after catchError
    int nodeCounter = 0
    PipelineModel model
    Executor executor  // the executing mode (run.execute): steps act on real per-agent workspaces
    Script jenkinsfile
    EnvProxy envProxy
    CurrentBuild currentBuild

    Harness(Map config, Map run, GroovyClassLoader loader, Map classCache, Class abortClass, Class interruptClass) {
        this.config = new LinkedHashMap(config)
        this.config.remove('runs')
        for (String key : ['jenkinsfile', 'workspace', 'scm_url', 'scm_branch', 'node_name']) {
            if (run.containsKey(key)) {
                this.config[key] = run[key]
            }
        }
        this.run = run
        this.loader = loader
        this.classCache = classCache
        this.abortClass = abortClass
        this.interruptClass = interruptClass
        this.workspace = new File(this.config.workspace as String)
        this.envProxy = new EnvProxy(this)
        this.currentBuild = new CurrentBuild(this)
        globalEnv.putAll([BUILD_NUMBER: '1', BUILD_URL: 'https://jenkins.invalid/job/harness/1/',
                          JOB_NAME: 'harness', JENKINS_URL: 'https://jenkins.invalid/'])
        (run.env ?: [:]).each { k, v -> globalEnv[k as String] = v as String }
        (run.fail ?: [:]).each { k, v -> failures[k as String] = v as Integer }
        (run.test_failures ?: [:]).each { k, v -> testFailures[k as String] = v as Integer }
        params.putAll((Map) (run.params ?: [:]))
        stepBudget = (run.step_budget ?: 1000000) as int
        NonCpsDepth.depth = 0  // each build starts outside any @NonCPS method, whatever the last one did
        if (run.execute) {
            executor = new Executor(this, (Map) run.execute)
        }
    }

    // ---- names ----
    boolean hasGlobal(String name) {
        return name in ['env', 'params', 'scm', 'currentBuild'] || vars.containsKey(name) ||
               scriptVariables.containsKey(name) || envValue(name) != null  // Jenkins: a bare env var name
    }

    Object globalVariable(String name) {
        switch (name) {
            case 'env': return envProxy
            case 'params': return Collections.unmodifiableMap(params)
            case 'currentBuild': return currentBuild
            // the job's SCM, as GitSCM exposes it (getUserRemoteConfigs, getBranches)
            case 'scm': return [$class: 'GitSCM', userRemoteConfigs: [[url: config.scm_url ?: '']],
                                branches: [[name: config.scm_branch ?: '*/trunk']], harness: 'scm']
        }
        if (vars.containsKey(name)) {
            return vars[name]
        }
        if (scriptVariables.containsKey(name)) {
            return scriptVariables[name]
        }
        Object value = envValue(name)
        if (value != null) {
            return value
        }
        throw new MissingPropertyException(name, HarnessScript)
    }

    Object envValue(String name) {
        for (int i = frames.size() - 1; i >= 0; i--) {
            Map env = frames[i].env
            if (env != null && env.containsKey(name)) {
                return env[name]
            }
        }
        return globalEnv[name]
    }

    Map overlayEnv() {
        Map out = [:]
        for (Map frame : frames) {
            if (frame.env != null) {
                out.putAll(frame.env)
            }
        }
        return out
    }

    Map frame(String key) {
        for (int i = frames.size() - 1; i >= 0; i--) {
            if (frames[i].containsKey(key)) {
                return frames[i]
            }
        }
        return null
    }

    Object inFrame(Map frame, Closure body) {
        frames.add(frame)
        try {
            return body.call()
        } finally {
            frames.remove(frames.size() - 1)
        }
    }

    void worsen(String value) {
        if (!RESULTS.contains(value)) {
            throw new HarnessError("'${value}' is not a build result (${RESULTS.join(', ')})")
        }
        if (RESULTS.indexOf(value) > RESULTS.indexOf(result)) {
            result = value
        }
    }

    static boolean globMatches(String pattern, String value) {
        if (value == null) {
            return false
        }
        String regex = ''
        for (char c : pattern.toCharArray()) {
            regex += c == ('*' as char) ? '.*' : c == ('?' as char) ? '.' : java.util.regex.Pattern.quote(c as String)
        }
        return value ==~ regex
    }

    Object agentSpec(Object value, String where) {
        if (value == 'none' || value == 'any') {
            return value
        }
        if (value instanceof Closure) {
            AgentSection section = new AgentSection(harness: this, where: "${where} agent")
            Closure copy = (Closure) ((Closure) value).clone()
            copy.delegate = section
            copy.resolveStrategy = Closure.DELEGATE_ONLY
            copy.call()
            return section.spec
        }
        throw new HarnessError("${where}: agent ${value} is not supported")
    }

    Closure withSteps(Closure body) {
        Closure copy = (Closure) body.clone()
        copy.delegate = new StepsDelegate(harness: this, script: jenkinsfile)
        copy.resolveStrategy = Closure.DELEGATE_FIRST
        return copy
    }

    // ---- bugs: every exception that is not a normal build failure, reported once, where it was raised ----
    boolean isNormalFailure(Throwable t) {
        return abortClass.isInstance(t) || interruptClass.isInstance(t)
    }

    void noteBug(Throwable t) {
        if (isNormalFailure(t) || reported.contains(System.identityHashCode(t))) {
            return
        }
        reported.add(System.identityHashCode(t))
        Map where = locate(t)
        bugs.add([type: t.getClass().name, message: (t.message ?: t.toString()), file: where.file, line: where.line,
                  stage: frame('stage')?.stage, cell: (envValue('PIPELINEGEN_CELL_ID') ?: envValue('PIPELINEGEN_CELL'))])
    }

    Map locate(Throwable t) {
        Map sources = [:]
        sources.putAll(varFiles)
        sources[jenkinsfileName()] = config.jenkinsfile
        for (StackTraceElement element : t.stackTrace) {
            if (sources.containsKey(element.fileName) && element.lineNumber > 0) {
                return [file: sources[element.fileName], line: element.lineNumber]
            }
        }
        return [file: null, line: null]
    }

    static String jenkinsfileName() { return 'Jenkinsfile.groovy' }

    Object abort(String message) {
        record([type: 'abort', message: message])
        throw (Throwable) abortClass.newInstance(message)
    }

    // ---- compiling and loading ----
    Script instantiate(File file, String fileName) {
        String key = file.canonicalPath
        Class cls
        synchronized (classCache) {  // one compile per file, whichever build thread needs it first
            cls = (Class) classCache[key]
            if (cls == null) {
                GroovyCodeSource source = new GroovyCodeSource(file.getText('UTF-8'), fileName, '/groovy/script')
                source.cachable = false
                cls = loader.parseClass(source, false)
                classCache[key] = cls
            }
        }
        Script script = (Script) cls.newInstance()
        script.binding = new HarnessBinding(this)
        return script
    }

    Object loadLibrary(Map args) {
        Object retriever = args.retriever
        if (!(args.identifier instanceof CharSequence) || !(args.identifier.toString() ==~ /[^@]+@.+/)) {
            throw new HarnessError("library(identifier: ...) must be NAME@VERSION, got ${args.identifier}")
        }
        if (!(retriever instanceof Map) || ((Map) retriever).retriever != 'legacySCM') {
            throw new HarnessError('library(): only retriever: legacySCM(libraryPath: ..., scm: scm) is supported')
        }
        Map spec = (Map) retriever
        File dir = new File(workspace, spec.libraryPath as String)
        if (!new File(dir, 'vars').isDirectory()) {
            throw new HarnessError("library(): libraryPath '${spec.libraryPath}' has no vars/ directory under ${workspace}")
        }
        File src = new File(dir, 'src')
        if (src.isDirectory()) {
            synchronized (classCache) {
                loader.addClasspath(src.canonicalPath)
            }
        }
        config.library_dir = dir.canonicalPath
        File[] scripts = new File(dir, 'vars').listFiles().findAll { it.name.endsWith('.groovy') }.sort { it.name }
        for (File file : scripts) {
            String name = file.name - '.groovy'
            varFiles[file.name] = file.path
            vars[name] = instantiate(file, file.name)
        }
        events.add([type: 'library', identifier: args.identifier as String, path: spec.libraryPath as String,
                    vars: vars.keySet().toList()])
        return [library: args.identifier as String]
    }

    // ---- parameters ----
    void applyParameterDefinitions(List definitions) {
        Map given = new LinkedHashMap((Map) (run.params ?: [:]))
        Map resolved = [:]
        for (Map d : definitions) {
            String name = d.name
            Object value
            if (given.containsKey(name)) {
                value = given.remove(name)
                if (d.type == 'choice' && !((List) d.choices).collect { it as String }.contains(value as String)) {
                    abort("Illegal choice for parameter ${name}: ${value}")
                }
                if (d.type == 'booleanParam') {
                    value = value as String == 'true'
                }
            } else if (d.type == 'choice') {
                value = ((List) d.choices)[0]
            } else {
                value = d.defaultValue == null ? (d.type == 'booleanParam' ? false : '') : d.defaultValue
            }
            resolved[name] = d.type == 'booleanParam' ? value : (value as String)
        }
        if (!given.isEmpty()) {
            throw new HarnessError("job parameters not declared by the Jenkinsfile: ${given.keySet().join(', ')}")
        }
        params.clear()
        params.putAll(resolved)
    }

    // ---- steps ----
    int stepsTaken = 0

    Object invokeStep(String name, Object[] args, Script caller) {
        if (++stepsTaken > stepBudget) {
            throw new HarnessError("more than ${stepBudget} steps in one build: a loop that never ends (last step: ${name})")
        }
        if (NonCpsDepth.depth > 0) {
            throw new HarnessError("step or library call '${name}' inside @NonCPS method ${NonCpsDepth.current}(): " +
                                   'Jenkins does not run pipeline steps from @NonCPS code')
        }
        if (vars.containsKey(name)) {
            return InvokerHelper.invokeMethod(vars[name], 'call', args)
        }
        switch (name) {
            case 'library': return loadLibrary(named(name, args, ['identifier', 'retriever', 'changelog'], 'identifier'))
            case 'legacySCM': return [retriever: 'legacySCM'] + named(name, args, ['libraryPath', 'scm'], 'scm')
            case 'pipeline': return definePipeline(args, caller)
        }
        if (name == 'parallel') {
            return parallel(args)
        }
        List spec = (List) STEPS[name]
        if (spec == null) {
            throw new HarnessError("undefined step or method '${name}' (not a pipeline step the harness knows, nor a library global)")
        }
        Closure body = args.length > 0 && args[-1] instanceof Closure ? (Closure) args[-1] : null
        Object[] rest = body == null ? args : (args.length > 1 ? args[0..-2] as Object[] : new Object[0])
        if ((spec[3] as boolean) != (body != null)) {
            throw new HarnessError(spec[3] ? "step ${name} needs a { body }" : "step ${name} takes no { body }")
        }
        Map a = named(name, rest, (List) spec[0], (String) spec[1])
        if (spec[2] && frame('node') == null) {
            throw new HarnessError("step ${name} needs a workspace: call it inside node(...) { } " +
                                   '(Jenkins: Required context class hudson.FilePath is missing)')
        }
        if (executor != null && spec[2] && frame('node') != null) {
            executor.checkAlive(frame('node').node as String)
        }
        if (executor != null && executor.respondsTo("step_${name}")) {
            return executor."step_${name}"(a, body)
        }
        return this."step_${name}"(a, body)
    }

    Map named(String step, Object[] args, List known, String positional) {
        Map out = [:]
        if (args.length == 1 && args[0] instanceof Map && !(positional == 'scm' && ((Map) args[0]).containsKey('$class'))) {
            out.putAll((Map) args[0])
        } else if (args.length == 1 && positional != null) {
            out[positional] = args[0]
        } else if (args.length > 1 || (args.length == 1 && positional == null)) {
            throw new HarnessError("step ${step}: unexpected arguments ${args.toList()}")
        }
        List allowed = (config.rulebook?.steps?.get(step) ?: known) as List  // rulebook: lint's catalogue
        for (Object key : out.keySet()) {
            if (!allowed.contains(key as String)) {
                throw new HarnessError("step ${step}: unknown argument '${key}' (known: ${allowed.join(', ')})")
            }
        }
        return out
    }

    Object runBody(Map frame, Closure body) {
        try {
            return frame == null ? body.call() : inFrame(frame, body)
        } catch (Throwable t) {
            noteBug(t)
            throw t
        }
    }

    Map record(Map event) {
        Map node = frame('node')
        Map base = [stage: frame('stage')?.stage, branch: frame('branch')?.branch]
        if (node != null) {
            base.node = node.node
            base.node_label = node.label
        }
        base.putAll(event)
        if (executor != null) {
            base.t_ms = System.currentTimeMillis()  // executing mode: when it happened (benchmarks/summary_stage.py)
        }
        events.add(base)
        return base
    }

    Object step_echo(Map a, Closure body) { record([type: 'echo', text: a.message as String]); return null }
    Object step_error(Map a, Closure body) { record([type: 'error', text: a.message as String]); abort(a.message as String) }
    Object step_unstable(Map a, Closure body) { record([type: 'unstable', text: a.message as String]); worsen('UNSTABLE'); return null }
    Object step_isUnix(Map a, Closure body) { return true }
    Object step_script(Map a, Closure body) { return runBody(null, body) }
    Object step_timestamps(Map a, Closure body) { return runBody(null, body) }
    Object step_deleteDir(Map a, Closure body) { record([type: 'deleteDir', dir: frame('dir')?.dir]); return null }

    Object step_sh(Map a, Closure body) {
        if (!(a.script instanceof CharSequence)) {
            throw new HarnessError("sh: script must be a string, got ${a.script?.getClass()?.name}")
        }
        Map env = overlayEnv()
        String cell = env.PIPELINEGEN_CELL_ID ?: env.PIPELINEGEN_CELL  // the documented name, then the older one
        Map event = [type: 'sh', script: a.script as String, label: a.label as String, dir: frame('dir')?.dir,
                     timeout: frame('timeout')?.timeout, cell: cell, command: env.PIPELINEGEN_COMMAND, env: env]
        event = record(event)
        if (cell != null && (a.script as String).contains('run-cell.sh')) {
            attemptsSeen[cell] = (attemptsSeen[cell] ?: 0) + 1
        }
        if (cell != null && failures.containsKey(cell) && (a.script as String).contains('run-cell.sh')) {
            int attempt = attemptsSeen[cell]
            if (attempt <= failures[cell]) {
                event.status = 1
                if (a.returnStatus) {
                    return 1
                }
                abort('script returned exit code 1')
            }
        }
        event.status = 0
        return a.returnStdout ? '' : (a.returnStatus ? 0 : null)
    }

    Object step_node(Map a, Closure body) {
        String label = a.label == null ? '' : a.label as String
        List atoms = LabelExpression.atoms(label)  // raises for what Jenkins's label parser rejects
        if (executor != null) {
            Map agent = executor.allocate(label)
            record([type: 'node', label: label, name: agent.name, atoms: atoms])
            File workspace = executor.workspace(agent.name as String)
            try {
                return runBody([node: agent.name, label: label, workspace: workspace,
                                env: [NODE_NAME: agent.name, WORKSPACE: workspace.path]], body)
            } finally {
                executor.release(agent)
            }
        }
        // node names may contain a double quote in Jenkins: the harness's do, so label escaping is exercised
        String name = ((config.node_name ?: 'agent-{n}') as String).replace('{n}', (++nodeCounter) as String)
        record([type: 'node', label: label, name: name, atoms: atoms])
        return runBody([node: name, label: label, env: [NODE_NAME: name, WORKSPACE: "/ws/${name}".toString()]], body)
    }

    Object step_ws(Map a, Closure body) { return runBody([dir: a.dir as String], body) }

    Object step_dir(Map a, Closure body) {
        String parent = frame('dir')?.dir
        String path = parent ? "${parent}/${a.path}" : a.path as String
        return runBody([dir: path], body)
    }

    Object step_checkout(Map a, Closure body) {
        Object scm = a.scm
        if (!(scm instanceof Map)) {
            throw new HarnessError("checkout: unsupported scm ${scm}")
        }
        Map spec = (Map) scm
        String url = (spec.userRemoteConfigs ?: [[:]])[0]?.url
        String branch = (spec.branches ?: [[:]])[0]?.name
        record([type: 'checkout', scm: spec.harness == 'scm' ? 'scm' : spec.'$class', url: url, ref: branch,
                dir: frame('dir')?.dir])
        return [GIT_COMMIT: '0' * 40]
    }

    /** The build's stashes plus those of the parallel branches this code runs in (no copy: every unstash asks). */
    boolean stashVisible(String name) {
        if (stashes.containsKey(name)) {
            return true
        }
        for (Map f : frames) {
            if (f.stashes != null && ((Map) f.stashes).containsKey(name)) {
                return true
            }
        }
        return false
    }

    Object step_stash(Map a, Closure body) {
        if (!a.name) {
            throw new HarnessError('stash: a name is required')
        }
        Map branch = frame('stashes')
        (branch == null ? stashes : branch.stashes)[a.name as String] = [includes: a.includes, cell: (envValue('PIPELINEGEN_CELL_ID') ?: envValue('PIPELINEGEN_CELL'))]
        record([type: 'stash', name: a.name as String, includes: a.includes as String])
        return null
    }

    Object step_unstash(Map a, Closure body) {
        record([type: 'unstash', name: a.name as String])
        if (!stashVisible(a.name as String)) {
            abort("No such saved stash '${a.name}'")
        }
        return null
    }

    Object step_writeFile(Map a, Closure body) {
        if (a.file == null || a.text == null) {
            throw new HarnessError('writeFile: file and text are required')
        }
        files[a.file as String] = a.text as String
        Map event = [type: 'writeFile', file: a.file as String, bytes: (a.text as String).length()]
        if ((a.file as String).endsWith('.json')) {
            event.json = new JsonSlurperClassic().parseText(a.text as String)  // a .json file must be JSON
        }
        record(event)
        return null
    }

    Object step_readFile(Map a, Closure body) {
        if (!files.containsKey(a.file as String)) {
            abort("readFile: ${a.file} does not exist")
        }
        return files[a.file as String]
    }

    Object step_fileExists(Map a, Closure body) { return files.containsKey(a.file as String) }

    Object step_libraryResource(Map a, Closure body) {
        if (config.library_dir == null) {
            throw new HarnessError('libraryResource: no library loaded')
        }
        File file = new File(new File(config.library_dir as String, 'resources'), a.resource as String)
        if (!file.isFile()) {
            abort("No such library resource ${a.resource} could be found.")
        }
        // Read once per JVM while unchanged: every stage reads the half-megabyte plan.json, in every build.
        String key = "${file.canonicalPath}\u0000${file.lastModified()}\u0000${file.length()}".toString()
        synchronized (resourceCache) {  // shared by the builds running on other threads
            String text = resourceCache[key]
            if (text == null) {
                text = file.getText('UTF-8')
                resourceCache[key] = text
            }
            return text
        }
    }

    Object step_readJSON(Map a, Closure body) {
        String text
        if (a.text != null) {
            text = a.text as String
        } else if (a.file != null) {
            if (frame('node') == null) {
                throw new HarnessError('readJSON(file: ...) needs a workspace: call it inside node(...) { }')
            }
            text = step_readFile([file: a.file], null)
        } else {
            throw new HarnessError('readJSON: give text or file')
        }
        if (!a.returnPojo) {
            throw new HarnessError('readJSON without returnPojo: true returns net.sf.json objects (JSONNull, ...); ' +
                                   'the harness only models returnPojo: true')
        }
        // Parsing the same plan data for every call dominates a run; a deep copy is the same fresh object.
        Object parsed
        synchronized (jsonCache) {  // shared by the builds running on other threads
            if (!jsonCache.containsKey(text)) {
                jsonCache.clear()
                jsonCache[text] = new JsonSlurperClassic().parseText(text)
            }
            parsed = jsonCache[text]
        }
        return deepCopy(parsed)
    }

    static Object deepCopy(Object value) {
        if (value instanceof Map) {
            Map out = new LinkedHashMap()
            for (Map.Entry entry : ((Map) value).entrySet()) {
                out.put(entry.key, deepCopy(entry.value))
            }
            return out
        }
        if (value instanceof List) {
            List out = new ArrayList(((List) value).size())
            for (Object item : (List) value) {
                out.add(deepCopy(item))
            }
            return out
        }
        return value
    }

    Object step_writeJSON(Map a, Closure body) {
        if (a.file == null || !a.containsKey('json')) {
            throw new HarnessError('writeJSON: file and json are required')
        }
        files[a.file as String] = JsonOutput.toJson(a.json)  // raises for what cannot be JSON
        record([type: 'writeJSON', file: a.file as String, json: deepCopy(a.json)])
        return null
    }

    Object step_withEnv(Map a, Closure body) {
        if (!(a.overrides instanceof List)) {
            throw new HarnessError("withEnv: a list of 'NAME=value' strings is required")
        }
        Map env = [:]
        for (Object entry : (List) a.overrides) {
            String text = entry as String
            int eq = text.indexOf('=')
            if (eq <= 0) {
                throw new HarnessError("withEnv: '${text}' is not NAME=value")
            }
            env[text.substring(0, eq)] = text.substring(eq + 1)
        }
        return runBody([env: env], body)
    }

    Object step_timeout(Map a, Closure body) {
        String unit = (a.unit ?: 'MINUTES') as String
        if (!(unit in ['NANOSECONDS', 'MICROSECONDS', 'MILLISECONDS', 'SECONDS', 'MINUTES', 'HOURS', 'DAYS'])) {
            throw new HarnessError("timeout: unknown unit '${unit}'")
        }
        if (!(a.time instanceof Number) || (a.time as long) <= 0) {
            throw new HarnessError("timeout: time must be a positive number, got ${a.time}")
        }
        long millis = java.util.concurrent.TimeUnit.valueOf(unit).toMillis(a.time as long)
        return runBody([timeout: [time: a.time, unit: unit, deadline: System.currentTimeMillis() + millis]], body)
    }

    Object step_retry(Map a, Closure body) {
        int count = a.count as int
        for (int i = 1; ; i++) {
            try {
                return runBody(null, body)
            } catch (Throwable t) {
                if (i >= count || (interruptClass.isInstance(t) && t.actualInterruption)) {
                    throw t
                }
                record([type: 'retry', attempt: i, message: t.message])
            }
        }
    }

    Object step_sleep(Map a, Closure body) { record([type: 'sleep', time: a.time]); return null }

    Object step_junit(Map a, Closure body) {
        if (!a.testResults) {
            throw new HarnessError('junit: testResults is required')
        }
        // a TestResultSummary: one test per cell attempt, failing for the attempts run.test_failures names
        String cell = envValue('PIPELINEGEN_CELL_ID') ?: envValue('PIPELINEGEN_CELL')
        int failed = cell != null && (attemptsSeen[cell] ?: 0) <= (testFailures[cell] ?: 0) ? 1 : 0
        record([type: 'junit', testResults: a.testResults as String, allowEmptyResults: a.allowEmptyResults ?: false,
                failed: failed])
        if (failed && !a.skipMarkingBuildUnstable) {
            worsen('UNSTABLE')
        }
        return [totalCount: 1, failCount: failed, skipCount: 0, passCount: 1 - failed]
    }

    Object step_archiveArtifacts(Map a, Closure body) {
        if (!a.artifacts) {
            throw new HarnessError('archiveArtifacts: artifacts is required')
        }
        record([type: 'archiveArtifacts', artifacts: a.artifacts as String, allowEmptyArchive: a.allowEmptyArchive ?: false])
        return null
    }

    Object step_catchError(Map a, Closure body) {
        String buildResult = (a.buildResult ?: 'FAILURE') as String
        worsenCheck(buildResult)
        try {
            return runBody(null, body)
        } catch (Throwable t) {
            if (interruptClass.isInstance(t) && t.actualInterruption && a.catchInterruptions == false) {
                throw t
            }
            record([type: 'caught', message: (a.message ?: t.message) as String, result: buildResult])
            worsen(buildResult)
            return null
        }
    }

    void worsenCheck(String value) {
        if (!RESULTS.contains(value)) {
            throw new HarnessError("'${value}' is not a build result (${RESULTS.join(', ')})")
        }
    }

    Object step_warnError(Map a, Closure body) {
        return step_catchError([buildResult: 'UNSTABLE', message: a.message], body)
    }

    Object parallel(Object[] args) {
        if (args.length != 1 || !(args[0] instanceof Map)) {
            throw new HarnessError('parallel: a map of branch name -> closure is required')
        }
        Map branches = new LinkedHashMap((Map) args[0])
        boolean failFast = branches.remove('failFast') as boolean
        for (Map.Entry entry : branches.entrySet()) {
            if (!(entry.value instanceof Closure)) {
                throw new HarnessError("parallel: branch '${entry.key}' is not a closure")
            }
        }
        record([type: 'parallel', branches: branches.keySet().collect { it as String }])
        // Branches run one after the other here, but see only the stashes made before the parallel step
        // (plus their own): a branch that unstashes what a sibling stashes would race in Jenkins.
        Map made = [:]
        Throwable first = null
        for (Map.Entry entry : branches.entrySet()) {
            Map ownStashes = [:]
            try {
                runBody([branch: entry.key as String, stashes: ownStashes], (Closure) entry.value)
            } catch (Throwable t) {
                if (first == null) {
                    first = t
                }
                record([type: 'branch-failed', name: entry.key as String, message: t.message])
                if (failFast) {
                    break
                }
            } finally {
                made.putAll(ownStashes)
            }
        }
        Map outer = frame('stashes')
        (outer == null ? stashes : outer.stashes).putAll(made)
        if (first != null) {
            throw first
        }
        return null
    }

    // ---- declarative ----
    Object definePipeline(Object[] args, Script caller) {
        if (caller != jenkinsfile || frames.size() != 0) {
            throw new HarnessError('pipeline { } must be called once, at the top level of the Jenkinsfile')
        }
        if (model != null) {
            throw new HarnessError('pipeline { } is given twice')
        }
        if (args.length != 1 || !(args[0] instanceof Closure)) {
            throw new HarnessError('pipeline takes one { body }')
        }
        PipelineSection section = new PipelineSection(harness: this, where: 'pipeline')
        Closure body = (Closure) ((Closure) args[0]).clone()
        body.delegate = section
        body.resolveStrategy = Closure.DELEGATE_ONLY
        body.call()
        if (section.model.stages == null) {
            throw new HarnessError('pipeline { } has no stages')
        }
        if (section.model.agent == null) {
            throw new HarnessError('pipeline { } has no agent (use agent none and give each stage its own)')
        }
        model = section.model
        return null
    }

    void execute() {
        File file = new File(config.jenkinsfile as String)
        jenkinsfile = instantiate(file, jenkinsfileName())
        try {
            jenkinsfile.run()
        } catch (Throwable t) {
            noteBug(t)
            throw t
        }
        if (model == null) {
            throw new HarnessError('the Jenkinsfile defines no pipeline { }')
        }
        applyParameterDefinitions(model.parameters)
        globalEnv.putAll(evaluateEnvironment(model.environment, 'pipeline environment'))
        runStages(model.stages, model.agent)
        runPost(model.post, 'pipeline')
        finished = true
    }

    Map evaluateEnvironment(Closure body, String where) {
        if (body == null) {
            return [:]
        }
        EnvironmentSection section = new EnvironmentSection(harness: this, where: where)
        Closure copy = (Closure) body.clone()
        copy.delegate = section
        copy.resolveStrategy = Closure.DELEGATE_ONLY
        copy.call()
        return section.values
    }

    void runStages(List stages, Object parentAgent) {
        for (StageModel stage : stages) {
            runStage(stage, parentAgent)
        }
    }

    void runStage(StageModel stage, Object parentAgent) {
        if (stageFailed) {
            record([type: 'stage-skipped', name: stage.name, reason: 'earlier failure'])
            return
        }
        inFrame([stage: stage.name, env: [:]], {
            frames[-1].env.putAll(evaluateEnvironment(stage.environment, "stage('${stage.name}') environment"))
            if (stage.when != null && !(stage.when.call() as boolean)) {
                record([type: 'stage-skipped', name: stage.name, reason: 'when'])
                return
            }
            record([type: 'stage', name: stage.name])
            Object agent = stage.agent ?: parentAgent
            try {
                if (stage.agent instanceof Map || stage.agent == 'any') {
                    String label = stage.agent instanceof Map ? ((Map) stage.agent).label : ''
                    step_node([label: label], { runStageBody(stage, agent) })
                } else {
                    runStageBody(stage, agent)
                }
            } catch (Throwable t) {
                noteBug(t)
                record([type: 'stage-failed', name: stage.name, message: t.message as String])
                stageFailed = true
                worsen(interruptClass.isInstance(t) ? 'ABORTED' : 'FAILURE')
            } finally {
                runPost(stage.post, "stage('${stage.name}')")
            }
        })
    }

    void runStageBody(StageModel stage, Object agent) {
        if (stage.steps != null) {
            withSteps(stage.steps).call()
        } else if (stage.stages != null) {
            runStages(stage.stages, agent)
        } else if (stage.matrix != null) {
            runMatrix(stage, agent)
        } else {
            Map branches = [:]
            for (StageModel branch : stage.parallel) {
                StageModel current = branch
                branches[current.name] = { runStage(current, agent) }
            }
            if (stage.failFast) {
                branches.failFast = true
            }
            parallel([branches] as Object[])
        }
    }

    /** Every combination of the axes not excluded, as a parallel branch with the axis values in env. */
    void runMatrix(StageModel stage, Object parentAgent) {
        List combinations = [[:]]
        for (Map axis : (List<Map>) stage.matrix.axes) {
            List next = []
            for (Map combination : combinations) {
                for (Object value : axis.values) {
                    next.add(combination + [(axis.name): value as String])
                }
            }
            combinations = next
        }
        Map branches = [:]
        for (Map combination : combinations) {
            boolean excluded = ((List<List<Map>>) stage.matrix.excludes).any { List<Map> rule ->
                rule.every { Map c ->
                    String value = combination[c.name]
                    c.notValues ? !c.notValues.contains(value) : c.values.contains(value)
                }
            }
            if (excluded) {
                continue
            }
            Map env = combination
            String name = 'Matrix - ' + combination.collect { k, v -> "${k} = '${v}'" }.join(', ')
            Object agent = stage.matrix.agent ?: parentAgent
            branches[name] = {
                inFrame([env: env], {
                    if (stage.matrix.agent instanceof Map) {
                        step_node([label: ((Map) stage.matrix.agent).label], { runStages(stage.matrix.stages, agent) })
                    } else {
                        runStages(stage.matrix.stages, agent)
                    }
                })
            }
        }
        parallel([branches] as Object[])
    }

    void runPost(Map conditions, String where) {
        for (String name : PostSection.ORDER) {
            Closure body = (Closure) conditions[name]
            if (body == null || !postApplies(name)) {
                continue
            }
            record([type: 'post', condition: name, where: where])
            try {
                withSteps(body).call()
            } catch (Throwable t) {
                noteBug(t)
                record([type: 'post-failed', condition: name, message: t.message as String])
                worsen('FAILURE')
            }
        }
    }

    boolean postApplies(String name) {
        switch (name) {
            case 'always': case 'cleanup': return true
            case 'success': return result == 'SUCCESS'
            case 'failure': return result == 'FAILURE'
            case 'unstable': return result == 'UNSTABLE'
            case 'aborted': return result == 'ABORTED'
            case 'notBuilt': return result == 'NOT_BUILT'
            case 'unsuccessful': return result != 'SUCCESS'
            default: return false  // changed/fixed/regression: there is no previous build here
        }
    }
}

/** Jenkins label expressions (hudson.model.labels): atoms or "quoted \\" strings", !, &&, ||, ->, <->,
 *  parentheses. Parses like Jenkins's grammar and returns the atoms, unquoted; raises on a syntax error. */
class LabelExpression {
    List<List> tokens = []
    int position = 0
    List<String> atoms = []

    /** Whether an agent with *labels* (its own name included) satisfies the expression. */
    static boolean matches(String text, List labels) {
        LabelExpression parser = new LabelExpression()
        parser.tokenize(text ?: '')
        if (parser.tokens.isEmpty()) {
            return true
        }
        boolean value = parser.evalImplication(new HashSet(labels.collect { it as String }))
        if (parser.position != parser.tokens.size()) {
            throw new HarnessError("label expression '${text}': unexpected ${parser.tokens[parser.position][1]}")
        }
        return value
    }

    boolean evalImplication(Set labels) {
        boolean value = evalDisjunction(labels)
        while (true) {
            if (accept('->')) {
                boolean right = evalDisjunction(labels)
                value = !value || right
            } else if (accept('<->')) {
                boolean right = evalDisjunction(labels)
                value = value == right
            } else {
                return value
            }
        }
    }

    boolean evalDisjunction(Set labels) {
        boolean value = evalConjunction(labels)
        while (accept('||')) {
            boolean right = evalConjunction(labels)
            value = value || right
        }
        return value
    }

    boolean evalConjunction(Set labels) {
        boolean value = evalNegation(labels)
        while (accept('&&')) {
            boolean right = evalNegation(labels)
            value = value && right
        }
        return value
    }

    boolean evalNegation(Set labels) {
        if (accept('!')) {
            return !evalNegation(labels)
        }
        if (accept('(')) {
            boolean value = evalImplication(labels)
            if (!accept(')')) {
                throw new HarnessError('label expression: missing )')
            }
            return value
        }
        if (position < tokens.size() && tokens[position][0] == 'atom') {
            return labels.contains(tokens[position++][1] as String)
        }
        throw new HarnessError("label expression: expected a label at token ${position + 1}")
    }

    static List<String> atoms(String text) {
        LabelExpression parser = new LabelExpression()
        parser.tokenize(text)
        if (!parser.tokens.isEmpty()) {
            parser.implication()
            if (parser.position != parser.tokens.size()) {
                throw new HarnessError("label expression '${text}': unexpected ${parser.tokens[parser.position][1]}")
            }
        }
        return parser.atoms
    }

    void tokenize(String text) {
        int i = 0
        while (i < text.length()) {
            String rest = text.substring(i)
            String op = ['<->', '->', '&&', '||', '!', '(', ')'].find { rest.startsWith(it) }
            if (rest.substring(0, 1).trim().isEmpty()) {
                i++
            } else if (op != null) {
                tokens.add(['op', op])
                i += op.length()
            } else if (rest.startsWith('"')) {
                StringBuilder value = new StringBuilder()
                int j = 1
                while (j < rest.length() && rest.substring(j, j + 1) != '"') {
                    if (rest.substring(j, j + 1) == '\\' && j + 1 < rest.length()) {
                        j++
                    }
                    value.append(rest.substring(j, j + 1))
                    j++
                }
                if (j >= rest.length()) {
                    throw new HarnessError("label expression '${text}': unterminated quoted label")
                }
                tokens.add(['atom', value.toString()])
                i += j + 1
            } else {
                java.util.regex.Matcher m = rest =~ /^[^\s&|!()"'<>=-]+(?:-(?!>)[^\s&|!()"'<>=-]*)*/
                if (!m.find() || m.group().isEmpty()) {
                    throw new HarnessError("label expression '${text}': unexpected character at ${i}")
                }
                tokens.add(['atom', m.group()])
                i += m.group().length()
            }
        }
    }

    private boolean accept(String op) {
        if (position < tokens.size() && tokens[position][0] == 'op' && tokens[position][1] == op) {
            position++
            return true
        }
        return false
    }

    void implication() {
        disjunction()
        while (accept('->') || accept('<->')) {
            disjunction()
        }
    }

    void disjunction() {
        conjunction()
        while (accept('||')) {
            conjunction()
        }
    }

    void conjunction() {
        negation()
        while (accept('&&')) {
            negation()
        }
    }

    void negation() {
        if (accept('!')) {
            negation()
        } else if (accept('(')) {
            implication()
            if (!accept(')')) {
                throw new HarnessError('label expression: missing )')
            }
        } else if (position < tokens.size() && tokens[position][0] == 'atom') {
            atoms.add(tokens[position][1] as String)
            position++
        } else {
            throw new HarnessError("label expression: expected a label at token ${position + 1}")
        }
    }
}

/** How many @NonCPS methods are running now (their bodies are wrapped by NonCpsTracker at compile time).
 *  Per thread: builds run on several threads, one build per thread at a time. Statically compiled: every
 *  @NonCPS call of every build goes through enter/exit. */
@groovy.transform.CompileStatic
class NonCpsDepth {
    static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial({ new int[1] } as java.util.function.Supplier)
    static final ThreadLocal<String> CURRENT = ThreadLocal.withInitial({ '' } as java.util.function.Supplier)
    static int getDepth() { return DEPTH.get()[0] }
    static void setDepth(int value) { DEPTH.get()[0] = value }
    static String getCurrent() { return CURRENT.get() }
    static void enter(String name) { DEPTH.get()[0]++; CURRENT.set(name) }
    static void exit() { DEPTH.get()[0]-- }
}

/** Wraps every @NonCPS method body in NonCpsDepth.enter/exit, so a step called from one is caught cheaply. */
class NonCpsTracker extends CompilationCustomizer {
    NonCpsTracker() { super(CompilePhase.CANONICALIZATION) }

    void call(SourceUnit source, GeneratorContext context, ClassNode classNode) {
        for (MethodNode method : classNode.methods) {
            if (!method.annotations.any { it.classNode.name == 'com.cloudbees.groovy.cps.NonCPS' } || method.code == null) {
                continue
            }
            ClassNode depth = ClassHelper.make(NonCpsDepth)
            Statement enter = new ExpressionStatement(new StaticMethodCallExpression(depth, 'enter',
                new ArgumentListExpression(new ConstantExpression(method.name))))
            Statement exit = new ExpressionStatement(new StaticMethodCallExpression(depth, 'exit',
                ArgumentListExpression.EMPTY_ARGUMENTS))
            BlockStatement wrapped = new BlockStatement([enter, new TryCatchStatement(method.code, exit)] as List<Statement>,
                                                        method.variableScope)
            method.code = wrapped
        }
    }
}

/** Layer 4's real numbers: JVM bytecode per method of each file compiled as Jenkins would before its CPS
 *  transform (which multiplies them), read from the class files' Code attributes. */
class Bytecode {
    static List measure(List<String> paths, CompilerConfiguration config, ClassLoader parent) {
        List out = []
        for (String path : paths) {
            try {
                CompilationUnit unit = new CompilationUnit(config, null, new GroovyClassLoader(parent, config))
                unit.addSource(new File(path))
                unit.compile(Phases.CLASS_GENERATION)
                List methods = []
                for (GroovyClass generated : (List<GroovyClass>) unit.classes) {
                    methods.addAll(methodSizes(generated.name, generated.bytes))
                }
                out.add([file: path, methods: methods])
            } catch (Exception failure) {
                out.add([file: path, methods: [], error: failure.message])
            }
        }
        return out
    }

    static List methodSizes(String className, byte[] bytes) {
        DataInputStream data = new DataInputStream(new ByteArrayInputStream(bytes))
        data.readInt()
        data.readUnsignedShort()
        data.readUnsignedShort()
        int count = data.readUnsignedShort()
        String[] utf8 = new String[count]
        for (int i = 1; i < count; i++) {
            int tag = data.readUnsignedByte()
            switch (tag) {
                case 1: utf8[i] = data.readUTF(); break
                case 3: case 4: data.readInt(); break
                case 5: case 6: data.readLong(); i++; break
                case 7: case 8: case 16: case 19: case 20: data.readUnsignedShort(); break
                case 9: case 10: case 11: case 12: case 17: case 18: data.readInt(); break
                case 15: data.readUnsignedByte(); data.readUnsignedShort(); break
                default: throw new IllegalStateException("unknown constant pool tag ${tag}")
            }
        }
        data.skipBytes(6)
        data.skipBytes(2 * data.readUnsignedShort())
        int fields = data.readUnsignedShort()
        for (int i = 0; i < fields; i++) {
            data.skipBytes(6)
            int attributes = data.readUnsignedShort()
            for (int j = 0; j < attributes; j++) {
                data.skipBytes(2)
                data.skipBytes(data.readInt())
            }
        }
        List out = []
        int methods = data.readUnsignedShort()
        for (int i = 0; i < methods; i++) {
            data.skipBytes(2)
            String name = utf8[data.readUnsignedShort()]
            data.skipBytes(2)
            int attributes = data.readUnsignedShort()
            for (int j = 0; j < attributes; j++) {
                String attribute = utf8[data.readUnsignedShort()]
                int length = data.readInt()
                if (attribute == 'Code') {
                    data.skipBytes(4)
                    int code = data.readInt()
                    out.add([class: className, method: name, bytes: code])
                    data.skipBytes(length - 8)
                } else {
                    data.skipBytes(length)
                }
            }
        }
        return out
    }
}

// ---- driver: one JVM, every run of the config ----------------------------------------------------

Map config = (Map) new JsonSlurperClassic().parse(new File(args[0]), 'UTF-8')
CompilerConfiguration compiler = new CompilerConfiguration()
compiler.scriptBaseClass = HarnessScript.name
ImportCustomizer imports = new ImportCustomizer()
imports.addImports('com.cloudbees.groovy.cps.NonCPS')  // Jenkins imports it into every pipeline script
compiler.addCompilationCustomizers(imports)

GroovyClassLoader loader = new GroovyClassLoader(this.class.classLoader, compiler)
// Stand-ins for the Jenkins classes pipeline code may name.
loader.parseClass('package com.cloudbees.groovy.cps\nimport java.lang.annotation.*\n' +
                  '@Retention(RetentionPolicy.RUNTIME) @interface NonCPS {}')
Class abortClass = loader.parseClass('package hudson\nclass AbortException extends IOException { ' +
                                     'AbortException(String m) { super(m) } }')
// actualInterruption as workflow-step-api's: false for the timeout step's own expiry and a removed agent
// (retry and catchError(catchInterruptions: false) then retry/catch it), true for a user abort.
Class interruptClass = loader.parseClass('package org.jenkinsci.plugins.workflow.steps\n' +
                                         'class FlowInterruptedException extends InterruptedException { ' +
                                         'boolean actualInterruption = true\n' +
                                         'FlowInterruptedException(String m) { super(m) }\n' +
                                         'FlowInterruptedException(String m, boolean actual) { super(m); actualInterruption = actual } }')
if (config.bytecode) {
    System.out.println(JsonOutput.toJson([bytecode: Bytecode.measure((List<String>) config.bytecode, compiler, loader)]))
}
compiler.addCompilationCustomizers(new NonCpsTracker())  // after measuring: it adds bytecode of its own
Map classCache = [:]
// Builds are independent (each its own Harness: events, env, stashes); they share only compiled classes and
// parsed JSON, both guarded. Several run at once so a many-core (or 2-core) machine finishes sooner; the
// results are printed in the order of config.runs whatever order they finish in.
String runOne(Map config, Map run, GroovyClassLoader loader, Map classCache, Class abortClass, Class interruptClass) {
    Harness harness = new Harness(config, run, loader, classCache, abortClass, interruptClass)
    Map out = [name: run.name, params: run.params]
    try {
        harness.execute()
        out.ok = harness.bugs.isEmpty()
    } catch (Throwable t) {
        if (harness.isNormalFailure(t)) {
            out.error = t.message
            harness.worsen('FAILURE')
            out.ok = harness.bugs.isEmpty()
        } else {
            harness.noteBug(t)
            if (harness.bugs.isEmpty()) {
                harness.bugs.add([type: t.getClass().name, message: t.message ?: t.toString(), file: null, line: null])
            }
            out.ok = false
        }
    }
    out.result = harness.result
    out.job_params = harness.params
    if (harness.executor != null) {
        out.tests = harness.executor.tests
        out.description = harness.currentBuild.description
        harness.executor.log("Finished: ${harness.result}")
    }
    out.events = harness.events
    out.bugs = harness.bugs
    return JsonOutput.toJson(out)
}

List<Map> runs = (List<Map>) config.runs
int threads = Math.max(1, Math.min((config.threads ?: 1) as int, runs.size()))
// Worker threads get a main-thread-sized stack (the JVM default for new threads is smaller): a deeply nested
// pipeline must overflow, or not, the same way whatever thread builds it.
java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads,
    { Runnable task -> Thread worker = new Thread(null, task, 'harness-build', 16L << 20); worker.daemon = true; worker }
        as java.util.concurrent.ThreadFactory)
try {
    List<java.util.concurrent.Future<String>> done = runs.collect { Map run ->
        pool.submit({ runOne(config, run, loader, classCache, abortClass, interruptClass) } as java.util.concurrent.Callable<String>)
    }
    for (java.util.concurrent.Future<String> result : done) {
        System.out.println(result.get())
        System.out.flush()
    }
} finally {
    pool.shutdownNow()
}
