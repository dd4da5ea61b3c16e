pipeline {
    agent any
    stages {
        stage('build') {
            steps {
                sleep time: 9223372036854775808  // <-- integer-range
            }
        }
    }
}
