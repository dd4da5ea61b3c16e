pipeline {
    agent any
    parameters { }  // <-- directive-empty
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
