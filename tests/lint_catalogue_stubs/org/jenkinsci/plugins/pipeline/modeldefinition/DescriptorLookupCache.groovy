package org.jenkinsci.plugins.pipeline.modeldefinition

import org.jenkinsci.plugins.structs.describable.DescribableModel

class DescriptorLookupCache {
    static DescriptorLookupCache getPublicCache() { new DescriptorLookupCache() }
    DescribableModel modelForFunctionFirstThenStep(String name) { new DescribableModel(name) }
    DescribableModel modelForStep(String name) { new DescribableModel(name) }
}
