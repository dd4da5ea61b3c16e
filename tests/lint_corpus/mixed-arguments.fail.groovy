pipeline {
    agent any
    parameters {
        booleanParam('FLAG', defaultValue: true)  // <-- mixed-arguments
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
