pipeline {
    agent any
    stages {
        stage('build') {
            steps {
                script { echo '1' }
            }
        }
    }
}
