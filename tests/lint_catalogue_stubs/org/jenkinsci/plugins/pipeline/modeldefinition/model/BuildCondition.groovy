package org.jenkinsci.plugins.pipeline.modeldefinition.model

class BuildCondition {
    static List<String> getOrderedConditionNames() { ['always', 'success', 'failure', 'cleanup'] }
}
