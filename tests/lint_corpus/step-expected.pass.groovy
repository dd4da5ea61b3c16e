pipeline {
    agent any
    stages {
        stage('build') {
            steps {
                script {
                    def x = 1
                    echo "${x}"
                }
            }
        }
    }
}
