pipeline {
    agent any
    tools { }  // <-- tools-empty
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
