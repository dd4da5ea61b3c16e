pipeline {
    agent any
    stages {
        stage('build') {
            steps {
                sh "ls ${WORKSPACE}"
            }
        }
    }
}
