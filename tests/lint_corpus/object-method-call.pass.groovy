pipeline {
    agent any
    stages {
        stage('build') {
            steps {
                script { currentBuild.setDescription('x') }
            }
        }
    }
}
