pipeline {
    agent any
    options {
        timestamps()
        buildDiscarder(logRotator(numToKeepStr: '30'))
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
