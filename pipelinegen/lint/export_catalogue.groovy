// Exports what this controller's declarative validator looks up, as JSON for `pipelinegen lint --catalogue`.
//
// `pipelinegen catalogue export` runs it through the script console (POST /scriptText, Overall/Administer);
// an administrator may also paste it into Manage Jenkins > Script Console and save the output. It only reads:
// the same lookups ModelValidatorImpl makes (Options/StageOptions/Triggers/Parameters/Tools.getAllowed*Types,
// DeclarativeAgentDescriptor, DeclarativeStageConditionalDescriptor, BuildCondition, DescriptorLookupCache's
// DescribableModels and the tool installations). It prints exactly one JSON document.
import groovy.json.JsonOutput
import hudson.tools.ToolInstallation
import jenkins.model.Jenkins
import org.jenkinsci.plugins.pipeline.modeldefinition.DescriptorLookupCache
import org.jenkinsci.plugins.pipeline.modeldefinition.agent.DeclarativeAgentDescriptor
import org.jenkinsci.plugins.pipeline.modeldefinition.model.BuildCondition
import org.jenkinsci.plugins.pipeline.modeldefinition.model.Options
import org.jenkinsci.plugins.pipeline.modeldefinition.model.Parameters
import org.jenkinsci.plugins.pipeline.modeldefinition.model.StageOptions
import org.jenkinsci.plugins.pipeline.modeldefinition.model.Tools
import org.jenkinsci.plugins.pipeline.modeldefinition.model.Triggers
import org.jenkinsci.plugins.pipeline.modeldefinition.when.DeclarativeStageConditionalDescriptor
import org.jenkinsci.plugins.structs.SymbolLookup
import org.jenkinsci.plugins.structs.describable.DescribableModel
import org.jenkinsci.plugins.workflow.steps.StepDescriptor

// The literal types ModelValidatorImpl.validateParameterType can check; anything else is "any".
String typeOf(Class c) {
    if (c == null) return 'any'
    if (c == String) return 'str'
    if (c in [int, Integer, long, Long, short, Short]) return 'int'
    if (c in [boolean, Boolean]) return 'bool'
    return 'any'
}

Map paramsOf(DescribableModel model) {
    Map out = [:]
    if (model == null) return out
    model.parameters.each { p -> out[p.name] = [type: typeOf(p.erasedType), required: p.required] }
    return out
}

Map modelEntry(DescribableModel model, Map extra = [:]) {
    return [parameters: paramsOf(model)] + extra
}

DescribableModel safeModel(Closure<DescribableModel> c) {
    try { return c.call() } catch (Throwable ignored) { return null }  // a broken plugin must not stop the export
}

def lookup = DescriptorLookupCache.getPublicCache()
Map options = [:]
Set stageOptionNames = StageOptions.getAllowedOptionTypes().keySet()
Options.getAllowedOptionTypes().keySet().sort().each { name ->
    options[name] = modelEntry(safeModel { lookup.modelForFunctionFirstThenStep(name) }, [stage: stageOptionNames.contains(name)])
}
Map triggers = [:]
Triggers.getAllowedTriggerTypes().keySet().sort().each { name ->
    triggers[name] = modelEntry(safeModel { lookup.modelForFunctionFirstThenStep(name) })
}
Map parameters = [:]
Parameters.getAllowedParameterTypes().keySet().sort().each { name ->
    parameters[name] = modelEntry(safeModel { lookup.modelForFunctionFirstThenStep(name) })
}
Map tools = [:]
Tools.getAllowedToolTypes().each { name, id ->
    def desc = ToolInstallation.all().find { it.getId() == id }
    tools[name] = desc == null ? [] : desc.getInstallations().collect { it.name }.sort()
}
Map agentTypes = [:]
DeclarativeAgentDescriptor.all().each { d ->
    SymbolLookup.getSymbolValue(d).each { symbol ->
        agentTypes[symbol] = modelEntry(safeModel { new DescribableModel(d.clazz) })
    }
}
Map whenConditions = [:]
DeclarativeStageConditionalDescriptor.all().each { d ->
    SymbolLookup.getSymbolValue(d).each { symbol ->
        whenConditions[symbol] = modelEntry(safeModel { new DescribableModel(d.clazz) },
                                            [children: d.getAllowedChildrenCount()])
    }
}
Map steps = [:]
StepDescriptor.all().each { d ->
    steps[d.functionName] = modelEntry(safeModel { lookup.modelForStep(d.functionName) },
                                       [block: d.takesImplicitBlockArgument()])
}
Map plugins = [:]
Jenkins.get().pluginManager.plugins.each { plugins[it.shortName] = it.version }

println JsonOutput.toJson([
    format: 'pipelinegen-lint-catalogue/1',
    source: [url: Jenkins.get().rootUrl ?: '', jenkins: Jenkins.VERSION, exported_at: new Date().format("yyyy-MM-dd'T'HH:mm:ssXXX")],
    plugins: plugins.sort(),
    agent_types: agentTypes.sort(),
    options: options,
    triggers: triggers,
    parameters: parameters,
    tools: tools.sort(),
    when_conditions: whenConditions.sort(),
    post_conditions: BuildCondition.getOrderedConditionNames(),
    steps: steps.sort(),
])
