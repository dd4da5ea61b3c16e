package org.jenkinsci.plugins.structs

class SymbolLookup {
    static Set<String> getSymbolValue(Object o) { return [o.symbol] as Set }
}
